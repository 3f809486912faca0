/* Block Kit drawn the way Slack draws it, for the csbot playground (PRODUCT.md §7.1).
 * BK.blocks(blocks, ctx) returns a DOM node. Every block and element type the bot
 * sends has a drawer below; anything else is drawn as a visible "unsupported" box
 * (class bk-unknown) so a test notices. No framework, no network: text is escaped,
 * and images only load from this machine. */
"use strict";
(function () {
  const EMOJI = {
    white_check_mark: "✅", rotating_light: "🚨", warning: "⚠️", red_circle: "🔴", tada: "🎉",
    large_yellow_circle: "🟡", large_green_circle: "🟢", large_orange_circle: "🟠", white_circle: "⚪",
    eyes: "👀", zzz: "💤", memo: "📝", leftwards_arrow_with_hook: "↩️", arrows_counterclockwise: "🔄",
    arrow_double_up: "⏫", chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉",
    calendar: "📅", bell: "🔔", moneybag: "💰", busts_in_silhouette: "👥", x: "❌", mag: "🔍",
    wave: "👋", bulb: "💡", hourglass: "⌛", fire: "🔥", sos: "🆘", speech_balloon: "💬",
    arrow_up: "⬆️", arrow_down: "⬇️", small_red_triangle: "🔺", small_red_triangle_down: "🔻",
    telephone_receiver: "📞", email: "📧", handshake: "🤝", star: "⭐", house: "🏠",
  };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function unesc(s) {
    return String(s).replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  }
  function emoji(s) {
    return s.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] || m);
  }
  /* <!date^1700000000^{date_short} {time}|fallback>: the moment, in this browser's locale. */
  function formatDate(target) {
    const seconds = Number(target.split("^")[1]);
    if (!seconds) return "";
    return new Date(seconds * 1000).toLocaleString("en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }
  function isLocal(url) {
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin;
    } catch (e) { return false; }
  }

  /* Slack mrkdwn -> safe HTML: <links>, mentions, *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes. */
  function mrkdwn(text, ctx) {
    const names = (ctx && ctx.names) || {};
    const parts = [];
    const src = String(text || "");
    const re = /<([^<>]+)>/g;
    let last = 0, m;
    while ((m = re.exec(src))) {
      parts.push({ t: src.slice(last, m.index) });
      parts.push({ link: m[1] });
      last = re.lastIndex;
    }
    parts.push({ t: src.slice(last) });
    let out = "";
    const slots = [];
    for (const p of parts) {
      if (p.t !== undefined) { out += esc(unesc(p.t)); continue; }
      const [target, label] = p.link.split("|");
      let h;
      if (target.startsWith("@")) h = `<span class="mention">@${esc(names[target.slice(1)] || label || target.slice(1))}</span>`;
      else if (target.startsWith("#")) h = `<span class="mention">#${esc(label || names[target.slice(1)] || target.slice(1))}</span>`;
      else if (target.startsWith("!date^")) h = `<time>${esc(unesc(label || formatDate(target)))}</time>`;
      else if (target.startsWith("!")) h = `<span class="mention">@${esc(target.slice(1).split("^")[0])}</span>`;
      else h = `<a href="#" class="bk-link" title="${esc(unesc(target))}">${esc(unesc(label || target))}</a>`;
      slots.push(h);
      out += `\u0000${slots.length - 1}\u0000`;
    }
    out = out.replace(/```([\s\S]*?)```/g, (mm, code) => `<pre class="bk-pre">${code.replace(/^\n/, "")}</pre>`);
    out = out.replace(/`([^`\n]+)`/g, "<code>$1</code>");
    out = out.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, "$1<b>$2</b>");
    out = out.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, "$1<i>$2</i>");
    out = out.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, "$1<s>$2</s>");
    out = out.replace(/(^|\n)&gt; ?([^\n]*)/g, '$1<span class="bk-quote">$2</span>');
    out = emoji(out).replace(/\n/g, "<br>");
    return out.replace(/\u0000(\d+)\u0000/g, (mm, i) => slots[Number(i)]);
  }

  function el(tag, cls, html) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (html !== undefined) n.innerHTML = html;
    return n;
  }
  function text(obj, ctx) {
    if (!obj) return "";
    return obj.type === "mrkdwn" ? mrkdwn(obj.text, ctx) : emoji(esc(obj.text || ""));
  }
  function unknown(kind, what) {
    const n = el("div", "bk-unknown", `unsupported ${esc(kind)}: ${esc(what)}`);
    n.dataset.type = what;
    return n;
  }

  /* ---------------------------------------------------------------- elements */
  function fire(ctx, elem, extra, node) {
    const action = Object.assign({ action_id: elem.action_id, block_id: ctx.blockId, type: elem.type }, extra);
    if (elem.confirm) return BK.confirm(elem.confirm, () => ctx.onAction(action, node));
    return ctx.onAction(action, node);
  }
  function optionNodes(select, options, initial) {
    for (const o of options || []) {
      const opt = document.createElement("option");
      opt.value = o.value;
      opt.textContent = unesc(o.text.text);
      if (initial && initial.value === o.value) opt.selected = true;
      select.appendChild(opt);
    }
  }
  function stateValue(elem, node) {
    const t = elem.type;
    if (t === "plain_text_input") return { type: t, value: node.value };
    if (t === "datepicker") return { type: t, selected_date: node.value || null };
    if (t === "users_select") return { type: t, selected_user: node.value || null };
    if (t === "static_select" || t === "external_select") {
      const o = node.selectedOptions && node.selectedOptions[0];
      return { type: t, selected_option: o && o.value ? { text: { type: "plain_text", text: o.textContent }, value: o.value } : null };
    }
    return { type: t };
  }
  const ELEMENTS = {
    button(e, ctx) {
      const b = el("button", "bk-button" + (e.style ? " bk-" + e.style : ""), emoji(esc(e.text.text)));
      b.type = "button";
      b.dataset.actionId = e.action_id || "";
      b.addEventListener("click", () => fire(ctx, e, { value: e.value, text: e.text }, b));
      return b;
    },
    static_select(e, ctx) { return select(e, ctx, (s) => optionNodes(s, e.options, e.initial_option)); },
    external_select(e, ctx) {
      const wrap = el("span", "bk-external");
      const search = el("input", "bk-search");
      search.placeholder = "Type to search…";
      search.setAttribute("aria-label", (e.placeholder && e.placeholder.text) || "Search");
      const s = select(e, ctx, (sel) => { if (e.initial_option) optionNodes(sel, [e.initial_option], e.initial_option); });
      const load = () => ctx.onOptions && ctx.onOptions(e, ctx.blockId, s, search.value);
      search.addEventListener("input", load);
      s.addEventListener("focus", load, { once: true });
      wrap.append(search, s);
      return wrap;
    },
    users_select(e, ctx) {
      return select(e, ctx, (s) => {
        const people = (ctx.people || []).map((p) => ({ value: p.id, text: { text: p.label } }));
        optionNodes(s, people, e.initial_user ? { value: e.initial_user } : null);
      });
    },
    datepicker(e, ctx) {
      const d = el("input", "bk-date");
      d.type = "date";
      d.value = e.initial_date || "";
      d.dataset.actionId = e.action_id || "";
      tagInput(d, e, ctx);
      if (!ctx.input) d.addEventListener("change", () => fire(ctx, e, { selected_date: d.value }, d));
      return d;
    },
    plain_text_input(e, ctx) {
      const t = e.multiline ? el("textarea", "bk-text") : el("input", "bk-text");
      t.value = e.initial_value || "";
      if (e.placeholder) t.placeholder = e.placeholder.text;
      if (e.max_length) t.maxLength = e.max_length;
      t.dataset.actionId = e.action_id || "";
      tagInput(t, e, ctx);
      return t;
    },
    image(e) { return image(e.image_url, e.alt_text, "bk-image-el"); },
    overflow(e, ctx) {
      const wrap = el("span", "bk-overflow");
      for (const o of e.options || []) {
        const b = el("button", "bk-button", esc(o.text.text));
        b.type = "button";
        b.addEventListener("click", () => fire(ctx, e, { selected_option: o }, b));
        wrap.appendChild(b);
      }
      return wrap;
    },
  };
  function tagInput(node, e, ctx) {
    if (!ctx.input) return;
    node.dataset.blockId = ctx.blockId;
    node.classList.add("bk-field");
    node._bkState = () => stateValue(e, node);
  }
  function select(e, ctx, fill) {
    const s = el("select", "bk-select");
    s.dataset.actionId = e.action_id || "";
    const ph = document.createElement("option");
    ph.value = "";
    ph.textContent = e.placeholder ? e.placeholder.text : "Select…";
    s.appendChild(ph);
    fill(s);
    tagInput(s, e, ctx);
    if (!ctx.input) {
      s.addEventListener("change", () => {
        const o = s.selectedOptions[0];
        if (!o || !o.value) return;
        const extra = e.type === "users_select" ? { selected_user: o.value }
          : { selected_option: { text: { type: "plain_text", text: o.textContent }, value: o.value } };
        fire(ctx, e, extra, s);
      });
    }
    return s;
  }
  function element(e, ctx) {
    const draw = ELEMENTS[e.type];
    return draw ? draw(e, ctx) : unknown("element", e.type);
  }
  function image(url, alt, cls) {
    if (!isLocal(url)) return el("div", cls + " bk-image-missing", `🖼 ${esc(alt || "image")} (not loaded: only images on this machine are shown)`);
    const img = document.createElement("img");
    img.src = url;
    img.alt = alt || "";
    img.className = cls;
    return img;
  }

  /* ---------------------------------------------------------------- rich text */
  function richElements(items, ctx) {
    let out = "";
    for (const it of items || []) {
      let h;
      if (it.type === "text") h = emoji(esc(it.text)).replace(/\n/g, "<br>");
      else if (it.type === "link") h = `<a href="#" class="bk-link" title="${esc(it.url)}">${esc(it.text || it.url)}</a>`;
      else if (it.type === "user") h = `<span class="mention">@${esc((ctx.names || {})[it.user_id] || it.user_id)}</span>`;
      else if (it.type === "channel") h = `<span class="mention">#${esc((ctx.names || {})[it.channel_id] || it.channel_id)}</span>`;
      else if (it.type === "emoji") h = EMOJI[it.name] || `:${esc(it.name)}:`;
      else if (it.type === "broadcast") h = `<span class="mention">@${esc(it.range)}</span>`;
      else h = `<span class="bk-unknown" data-type="${esc(it.type)}">unsupported rich text: ${esc(it.type)}</span>`;
      const st = it.style || {};
      if (st.code) h = `<code>${h}</code>`;
      if (st.bold) h = `<b>${h}</b>`;
      if (st.italic) h = `<i>${h}</i>`;
      if (st.strike) h = `<s>${h}</s>`;
      out += h;
    }
    return out;
  }
  function richPart(p, ctx) {
    if (p.type === "rich_text_section") return el("div", "bk-rt-section", richElements(p.elements, ctx));
    if (p.type === "rich_text_preformatted") return el("pre", "bk-pre", richElements(p.elements, ctx));
    if (p.type === "rich_text_quote") return el("blockquote", "bk-quote", richElements(p.elements, ctx));
    if (p.type === "rich_text_list") {
      const list = el(p.style === "ordered" ? "ol" : "ul", "bk-rt-list");
      for (const item of p.elements || []) list.appendChild(el("li", "", richElements(item.elements, ctx)));
      return list;
    }
    return unknown("rich text", p.type);
  }

  /* ---------------------------------------------------------------- blocks */
  const BLOCKS = {
    header(b, ctx) { return el("div", "bk-header", text(b.text, ctx)); },
    divider() { return el("hr", "bk-divider"); },
    section(b, ctx) {
      const n = el("div", "bk-section");
      const body = el("div", "bk-section-body");
      if (b.text) body.appendChild(el("div", "bk-section-text", text(b.text, ctx)));
      if (b.fields) {
        const grid = el("div", "bk-fields");
        for (const f of b.fields) grid.appendChild(el("div", "bk-field-cell", text(f, ctx)));
        body.appendChild(grid);
      }
      n.appendChild(body);
      if (b.accessory) {
        const acc = el("div", "bk-accessory");
        acc.appendChild(b.accessory.type === "image" ? image(b.accessory.image_url, b.accessory.alt_text, "bk-thumb") : element(b.accessory, ctx));
        n.appendChild(acc);
      }
      return n;
    },
    context(b, ctx) {
      const n = el("div", "bk-context");
      for (const e of b.elements || []) {
        if (e.type === "image") n.appendChild(image(e.image_url, e.alt_text, "bk-context-img"));
        else if (e.type === "mrkdwn" || e.type === "plain_text") n.appendChild(el("span", "", text(e, ctx)));
        else n.appendChild(unknown("context element", e.type));
      }
      return n;
    },
    actions(b, ctx) {
      const n = el("div", "bk-actions");
      for (const e of b.elements || []) n.appendChild(element(e, ctx));
      return n;
    },
    image(b) {
      const n = el("figure", "bk-image");
      if (b.title) n.appendChild(el("figcaption", "", esc(b.title.text)));
      n.appendChild(image(b.image_url || (b.slack_file && b.slack_file.url) || "", b.alt_text, "bk-image-img"));
      return n;
    },
    rich_text(b, ctx) {
      const n = el("div", "bk-rich");
      for (const p of b.elements || []) n.appendChild(richPart(p, ctx));
      return n;
    },
    input(b, ctx) {
      const n = el("div", "bk-input");
      const label = el("label", "bk-label", esc(b.label.text) + (b.optional ? ' <span class="bk-optional">(optional)</span>' : ""));
      n.appendChild(label);
      n.appendChild(element(b.element, Object.assign({}, ctx, { input: true })));
      if (b.hint) n.appendChild(el("div", "bk-hint", esc(b.hint.text)));
      const err = (ctx.errors || {})[b.block_id];
      if (err) n.appendChild(el("div", "bk-error", esc(err)));
      return n;
    },
    file(b) { return el("div", "bk-file", `📎 file ${esc(b.external_id || "")}`); },
  };

  const BK = {
    BLOCK_TYPES: Object.keys(BLOCKS),
    ELEMENT_TYPES: Object.keys(ELEMENTS),
    mrkdwn,
    esc,
    blocks(blocks, ctx) {
      const wrap = el("div", "bk-blocks");
      for (const b of blocks || []) {
        const draw = BLOCKS[b.type];
        const node = draw ? draw(b, Object.assign({}, ctx, { blockId: b.block_id || "" })) : unknown("block", b.type);
        if (b.block_id) node.dataset.blockId = b.block_id;
        node.classList.add("bk-block");
        wrap.appendChild(node);
      }
      return wrap;
    },
    /* The values of a modal's inputs, as Slack sends them in view.state.values. */
    values(root) {
      const out = {};
      for (const n of root.querySelectorAll(".bk-field")) {
        const blockId = n.dataset.blockId, actionId = n.dataset.actionId;
        out[blockId] = out[blockId] || {};
        out[blockId][actionId] = n._bkState();
      }
      return out;
    },
    /* A button's confirm dialog: go on only when the person confirms. */
    confirm(c, go) {
      const layer = document.getElementById("confirm-layer");
      layer.hidden = false;
      layer.innerHTML = "";
      const box = el("div", "bk-confirm");
      box.setAttribute("role", "alertdialog");
      box.appendChild(el("h3", "", esc(c.title ? c.title.text : "Are you sure?")));
      box.appendChild(el("div", "", text(c.text, {})));
      const row = el("div", "bk-confirm-row");
      const deny = el("button", "bk-button", esc(c.deny ? c.deny.text : "Cancel"));
      const ok = el("button", "bk-button bk-" + (c.style || "primary"), esc(c.confirm ? c.confirm.text : "Yes"));
      deny.type = ok.type = "button";
      deny.addEventListener("click", () => { layer.hidden = true; });
      ok.addEventListener("click", () => { layer.hidden = true; go(); });
      row.append(deny, ok);
      box.appendChild(row);
      layer.appendChild(box);
    },
  };
  window.BK = BK;
})();
