/* The csbot playground page: polls /api/state and draws channels, threads,
 * ephemerals, the Home tab and modals; every click goes to /api/… which sends
 * the bot the signed request Slack would. Nothing here talks to any other host. */
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const params = new URLSearchParams(location.search);
  const ui = {
    user: params.get("as") || $("#you").value,
    channel: params.get("c") || "CGENERAL",
    thread: null,
    state: null,
    drawn: "",
    modalKey: "",
  };
  $("#you").value = ui.user;
  const tz = document.body.dataset.tz || "UTC";

  async function api(path, body) {
    const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(Object.assign({ user: ui.user }, body)) });
    const data = await r.json().catch(() => ({}));
    if (!r.ok || data.ok === false) flash(data.error || `request failed (${r.status})`);
    setTimeout(poll, 50);
    return data;
  }
  function flash(msg) {
    const s = $("#clock-status");
    s.textContent = msg;
  }
  function channelId() {
    if (ui.channel === "dm") return ui.state ? ui.state.dm : "";
    return ui.channel;
  }
  function ctxFor(where) {
    const st = ui.state || {};
    return {
      names: st.names || {},
      people: st.people || [],
      onAction: (action) => api("/api/action", { where: typeof where === "function" ? where() : where, action }),
      onOptions: async (e, blockId, select, query) => {
        const data = await api("/api/options", { action_id: e.action_id, block_id: blockId, value: query || "" });
        const keep = select.value;
        while (select.options.length > 1) select.remove(1);
        for (const o of data.options || []) {
          const opt = document.createElement("option");
          opt.value = o.value;
          opt.textContent = o.text.text;
          select.appendChild(opt);
        }
        if (keep) select.value = keep;
        if (!select.value && select.options.length === 2) select.selectedIndex = 1;
      },
    };
  }
  function fmtClock(iso) {
    const d = new Date(iso);
    return new Intl.DateTimeFormat("en-US", { timeZone: tz, weekday: "short", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(d);
  }

  /* ------------------------------------------------------------ messages */
  function author(m, names) {
    if (m.bot_id || m.user === "UBOT") return '<span class="who">csbot</span><span class="app-tag">APP</span>';
    return `<span class="who">${BK.esc(names[m.user] || m.user || "someone")}</span>`;
  }
  function messageNode(m, replies, inThread) {
    const st = ui.state;
    const n = document.createElement("div");
    n.className = "msg";
    n.dataset.ts = m.ts;
    const head = document.createElement("div");
    head.className = "msg-head";
    head.innerHTML = author(m, st.names) + (m.edited ? '<span class="edited">(edited)</span>' : "");
    const menu = document.createElement("button");
    menu.type = "button";
    menu.className = "msg-menu";
    menu.title = "More actions";
    menu.textContent = "Log as touchpoint";
    menu.addEventListener("click", () => api("/api/shortcut", { channel: channelId(), ts: m.ts }));
    head.appendChild(menu);
    n.appendChild(head);
    const where = { kind: "message", channel: channelId(), ts: m.ts };
    if (m.blocks && m.blocks.length) n.appendChild(BK.blocks(m.blocks, ctxFor(where)));
    else n.appendChild(Object.assign(document.createElement("div"), { className: "msg-text", innerHTML: BK.mrkdwn(m.text, { names: st.names }) }));
    for (const f of m.files || []) {
      const fig = document.createElement("figure");
      fig.className = "msg-file";
      const img = document.createElement("img");
      img.src = `/files/${encodeURIComponent(f.id)}`;
      img.alt = f.title || f.name;
      img.className = "file-img";
      fig.appendChild(img);
      fig.appendChild(Object.assign(document.createElement("figcaption"), { textContent: f.title || f.name }));
      n.appendChild(fig);
    }
    if (!inThread && replies && replies.length) {
      const link = document.createElement("button");
      link.type = "button";
      link.className = "thread-link";
      link.textContent = `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`;
      link.addEventListener("click", () => { ui.thread = m.ts; ui.drawn = ""; draw(); });
      n.appendChild(link);
    }
    return n;
  }
  function ephemeralNode(e) {
    const n = document.createElement("div");
    n.className = e.kind === "echo" ? "msg echo" : "msg ephemeral";
    n.dataset.ephemeral = e.id;
    if (e.kind === "echo") {
      n.innerHTML = `<div class="msg-head"><span class="who">${BK.esc(ui.state.me.name)}</span></div><div class="msg-text"><code>${BK.esc(e.text)}</code></div>`;
      return n;
    }
    n.innerHTML = '<div class="msg-head"><span class="who">csbot</span><span class="app-tag">APP</span><span class="only-you">Only visible to you</span></div>';
    const where = { kind: "ephemeral", channel: channelId(), ephemeral: e.id };
    if (e.blocks && e.blocks.length) n.appendChild(BK.blocks(e.blocks, ctxFor(where)));
    else n.appendChild(Object.assign(document.createElement("div"), { className: "msg-text", innerHTML: BK.mrkdwn(e.text, { names: ui.state.names }) }));
    return n;
  }
  function drawChannel(st) {
    const list = $("#messages");
    list.innerHTML = "";
    const top = st.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts || m.subtype === "thread_broadcast");
    for (const m of top) list.appendChild(messageNode(m, st.messages.filter((r) => r.thread_ts === m.ts && r.ts !== m.ts), false));
    for (const e of st.ephemerals.filter((x) => !x.thread_ts)) list.appendChild(ephemeralNode(e));
    if (!top.length && !st.ephemerals.length) list.innerHTML = '<p class="empty">Nothing here yet. Try <code>/cs help</code>.</p>';
    list.scrollTop = list.scrollHeight;
    const pane = $("#thread");
    if (ui.thread) {
      pane.hidden = false;
      const box = $("#thread-messages");
      box.innerHTML = "";
      for (const m of st.messages.filter((r) => r.ts === ui.thread || r.thread_ts === ui.thread)) box.appendChild(messageNode(m, null, true));
      for (const e of st.ephemerals.filter((x) => x.thread_ts === ui.thread)) box.appendChild(ephemeralNode(e));
    } else pane.hidden = true;
  }
  function drawHome(st) {
    const list = $("#messages");
    list.innerHTML = "";
    $("#thread").hidden = true;
    if (!st.home) { list.innerHTML = '<p class="empty">Opening the Home tab…</p>'; return; }
    const home = document.createElement("div");
    home.className = "home";
    home.appendChild(BK.blocks(st.home.blocks, ctxFor({ kind: "home" })));
    list.appendChild(home);
  }

  /* ------------------------------------------------------------ modal */
  function drawModal(st) {
    const layer = $("#modal-layer");
    const v = st.modal;
    const key = v ? JSON.stringify([v.id, v.hash, v.blocks, st.errors, st.modal_depth]) : "";
    if (key === ui.modalKey) return;
    const kept = layer.hidden ? {} : BK.values(layer);
    const sameView = v && layer.dataset.viewId === v.id;
    ui.modalKey = key;
    layer.innerHTML = "";
    layer.hidden = !v;
    if (!v) { delete layer.dataset.viewId; return; }
    layer.dataset.viewId = v.id;
    const box = document.createElement("div");
    box.className = "modal";
    box.setAttribute("role", "dialog");
    box.innerHTML = `<header class="modal-title">${BK.esc(v.title ? v.title.text : "")}</header>`;
    const body = document.createElement("div");
    body.className = "modal-body";
    body.appendChild(BK.blocks(v.blocks, Object.assign(ctxFor(() => ({ kind: "modal", values: BK.values(layer) })), { errors: st.errors })));
    if (st.errors && st.errors[""]) body.appendChild(Object.assign(document.createElement("div"), { className: "bk-error", textContent: st.errors[""] }));
    box.appendChild(body);
    const foot = document.createElement("footer");
    foot.className = "modal-foot";
    const close = Object.assign(document.createElement("button"), { type: "button", className: "bk-button", textContent: v.close ? v.close.text : "Close" });
    close.addEventListener("click", () => api("/api/close", {}));
    foot.appendChild(close);
    if (v.submit) {
      const submit = Object.assign(document.createElement("button"), { type: "button", className: "bk-button bk-primary modal-submit", textContent: v.submit.text });
      submit.addEventListener("click", () => api("/api/submit", { values: BK.values(layer) }));
      foot.appendChild(submit);
    }
    box.appendChild(foot);
    layer.appendChild(box);
    if (sameView) restore(layer, kept);
  }
  function restore(root, kept) {
    for (const n of root.querySelectorAll(".bk-field")) {
      const v = (kept[n.dataset.blockId] || {})[n.dataset.actionId];
      if (!v) continue;
      if ("value" in v && v.value != null) n.value = v.value;
      else if (v.selected_date) n.value = v.selected_date;
      else if (v.selected_user) n.value = v.selected_user;
      else if (v.selected_option) {
        if (![...n.options].some((o) => o.value === v.selected_option.value)) {
          n.appendChild(Object.assign(document.createElement("option"), { value: v.selected_option.value, textContent: v.selected_option.text.text }));
        }
        n.value = v.selected_option.value;
      }
    }
  }

  /* ------------------------------------------------------------ the loop */
  function draw() {
    const st = ui.state;
    if (!st) return;
    $("#clock-now").textContent = fmtClock(st.clock);
    $("#clock-now").dataset.now = st.clock;
    for (const a of document.querySelectorAll(".chan")) a.classList.toggle("active", a.dataset.channel === ui.channel);
    const key = JSON.stringify([ui.channel, ui.thread, st.version, ui.user]);
    if (key !== ui.drawn) {
      ui.drawn = key;
      const c = st.channels.find((x) => x.id === ui.channel);
      $("#channel-header").textContent = ui.channel === "home" ? "csbot — Home" : ui.channel === "dm" ? "csbot — Messages" : c ? `# ${c.name} — ${c.purpose}` : ui.channel;
      $("#composer").hidden = ui.channel === "home";
      if (ui.channel === "home") drawHome(st); else drawChannel(st);
    }
    drawModal(st);
  }
  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const channel = ui.channel === "home" ? "" : channelId();
      const r = await fetch(`/api/state?user=${encodeURIComponent(ui.user)}&channel=${encodeURIComponent(channel || "")}`);
      ui.state = await r.json();
      if (ui.channel === "dm" && !channel) { polling = false; return poll(); }
      draw();
    } catch (e) { flash("the playground is not answering"); }
    polling = false;
  }

  $("#you").addEventListener("change", () => {
    ui.user = $("#you").value;
    if (ui.channel === "dm") ui.state = null; // the new person's own DM, never the last one's
    ui.thread = null;
    ui.drawn = "";
    ui.modalKey = "";
    if (ui.channel === "home") api("/api/home", {});
    poll();
  });
  for (const a of document.querySelectorAll(".chan")) {
    a.addEventListener("click", (ev) => {
      ev.preventDefault();
      ui.channel = a.dataset.channel;
      ui.thread = null;
      ui.drawn = "";
      if (ui.channel === "home") api("/api/home", {});
      poll();
    });
  }
  $("#thread-close").addEventListener("click", () => { ui.thread = null; ui.drawn = ""; draw(); });
  $("#composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("#composer-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    if (text.startsWith("/cs")) await api("/api/command", { channel: channelId(), text });
    else await api("/api/say", { channel: channelId(), text });
  });
  for (const b of document.querySelectorAll("#clock button")) {
    b.addEventListener("click", async () => {
      flash("Running what falls due…");
      const data = await api("/api/clock", { step: b.dataset.step });
      if (data.ok) flash(`Now ${fmtClock(data.clock)}`);
    });
  }
  if (ui.channel === "home") api("/api/home", {});
  poll();
  setInterval(poll, 700);
})();
