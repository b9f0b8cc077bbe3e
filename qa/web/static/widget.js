/* qa widget: ask the course documents from any page, answers shown with exact citations.
 *
 *   <script src="https://QA-HOST/widget.js" defer></script>
 *
 * Options (attributes on the script tag):
 *   data-title="Ask the course"   panel title
 *   data-theme="light" | "dark"
 *   data-k="3"                    passages per answer
 *   data-api-key="..."            only if the server requires a key (QA_API_KEY)
 *   data-mode="bubble" | "inline" inline: no bubble, the panel always shown (used by /embed)
 *   data-target="#element-id"     inline mode fills this element (default: the whole window)
 *   data-collection="biology-101" the collection to answer from (default: the default collection)
 *   data-lms="1"                  set by an LTI launch's page: a 401 means its session has ended
 *
 * Its words come from the server's JSON (`notice`, `closest_label`, `citation.label`), so the
 * widget, the chat page and the CLI say the same things (qa/render/).
 *
 * Plain JavaScript, no dependencies, no requests except to the server it was loaded from (the
 * API's base URL is the folder of this script's URL, so a server behind a path prefix works).
 * Everything from the server is inserted as text (textContent), never as HTML. The widget lives
 * in a shadow root, so the page's CSS does not reach it.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(".", new URL(script.src, document.baseURI)).href.replace(/\/$/, "");
  var opt = script.dataset || {};
  var title = opt.title || "Ask the course";
  var theme = opt.theme === "dark" ? "dark" : "light";
  var MAX_PASSAGES = 10;           /* qa.render.MAX_SHOWN_PASSAGES */
  var MAX_QUESTION_CHARS = 2000;   /* the server's default QA_MAX_QUESTION_CHARS */
  var ORIGINAL = "original ↗";     /* qa.render.ORIGINAL */
  var IN_DOCUMENT = "in the document ↗";  /* qa.render.IN_DOCUMENT: the document's page, the passage highlighted */
  var NEW_TAB = "opens in a new tab";  /* qa.render.NEW_TAB: said by screen readers after the link's words */
  var STALE = "changed since it was indexed: the original may differ from this quote";  /* qa.render.STALE */
  var SEE_IN_CONTEXT = "see in context";
  var k = Math.max(1, Math.min(MAX_PASSAGES, parseInt(opt.k || "3", 10) || 3));
  var mode = opt.mode === "inline" ? "inline" : "bubble";
  var history = [];

  var CSS = [
    ":host{all:initial;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;",
    "--bg:#fff;--fg:#1d2330;--muted:#5b6474;--line:#dde2ea;--accent:#2455c3;--on-accent:#fff;--mark:#ffe58a;--card:#f6f8fb;--err:#b3261e}",
    ":host([data-layout=contained]){display:block;height:100%}",
    ":host([data-theme=dark]){--bg:#161a22;--fg:#e8ecf3;--muted:#a5afc0;--line:#2d3442;--accent:#8fb0ff;--on-accent:#0e1522;",
    "--mark:#6b5a12;--card:#1f2530;--err:#ff8a80}",
    "*{box-sizing:border-box}",
    ".bubble{position:fixed;right:20px;bottom:20px;width:56px;height:56px;border-radius:50%;border:0;",
    "background:var(--accent);color:var(--on-accent);font-size:26px;cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);z-index:2147483000}",
    ".panel{display:flex;flex-direction:column;background:var(--bg);color:var(--fg);border:1px solid var(--line)}",
    ".floating{position:fixed;right:20px;bottom:88px;width:min(420px,calc(100vw - 24px));height:min(620px,calc(100vh - 110px));",
    "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);z-index:2147483000}",
    ".inline{position:fixed;inset:0;border:0}",
    ".contained{position:relative;width:100%;height:100%;min-height:420px;border-radius:8px}",
    "@media (max-width:480px){.floating{left:8px;right:8px;width:auto;bottom:80px;height:calc(100vh - 96px)}",
    ".bubble{right:14px;bottom:14px}}",
    ".hidden{display:none}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;border-bottom:1px solid var(--line);font-weight:600}",
    "header h2{font:inherit;margin:0}",
    "header button{background:none;border:0;color:var(--fg);font-size:20px;cursor:pointer}",
    ".log{flex:1;overflow-y:auto;padding:12px 14px}",
    ".q{margin:10px 0 6px auto;max-width:85%;width:fit-content;background:var(--accent);color:var(--on-accent);padding:7px 11px;border-radius:12px 12px 2px 12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".a{margin:6px 0 14px}",
    ".note{color:var(--muted);font-size:13px;margin:4px 0}",
    /* a declined answer's notice stands out above the closest text, as on the chat page */
    ".decline{color:var(--fg);font-weight:600;margin:6px 0 4px;padding:6px 10px;border:1px solid var(--accent);border-radius:8px}",
    ".err{color:var(--err)}",
    "[data-role=too-long]{margin:0;padding:6px 14px 0}",
    ".span{border-left:3px solid var(--accent);padding:4px 10px;margin:6px 0 10px;font-weight:500}",
    ".p{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:8px 10px;margin:8px 0;overflow-wrap:anywhere}",
    ".cite{font-size:13px;color:var(--muted);margin-bottom:4px;cursor:pointer}",
    ".cite strong{color:var(--fg)}",
    ".detail{font-size:12px;color:var(--muted);margin-top:4px}",
    ".stale{color:var(--err)}",
    ".closest .p{border-style:dashed}",
    /* a passage's and its context's own line breaks (slides, code, a plain text's headings and
     * lists), as the chat page shows them */
    ".text,.ctx{white-space:pre-line}",
    /* the documents' and the learner's words take their direction from themselves, line by
     * line (an Arabic passage right to left), as on the chat page */
    ".q,.text,.ctx,.cite .label{unicode-bidi:plaintext;text-align:start}",
    "details>summary{list-style-position:outside;margin-left:14px}",
    /* the links and the button under a passage in the theme's accent: the browser's own link
     * blue was 1.6:1 on the dark theme's card */
    ".detail a,.detail button{color:var(--accent);background:none;border:0;padding:0;font:inherit;cursor:pointer;text-decoration:underline}",
    "mark{background:var(--mark);color:inherit;padding:0 1px}",
    ".ctx{position:relative;margin-top:6px;padding:8px;border-top:1px dashed var(--line);font-size:14px;max-height:260px;overflow-y:auto}",
    ".ctx .in{background:rgba(36,85,195,.12)}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid var(--line)}",
    "input{flex:1;min-width:0;padding:9px 11px;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg);font:inherit}",
    "form button{padding:9px 14px;border:0;border-radius:8px;background:var(--accent);color:var(--on-accent);font:inherit;cursor:pointer}",
    "form button:disabled{opacity:.6;cursor:wait}"
  ].join("");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function marked(text, offset, start, end) {
    /* text (which begins at source offset `offset`) with [start, end) wrapped in <mark>. */
    var frag = document.createDocumentFragment();
    var a = Math.max(0, Math.min(text.length, start - offset));
    var b = Math.max(a, Math.min(text.length, end - offset));
    frag.appendChild(document.createTextNode(text.slice(0, a)));
    if (b > a) { frag.appendChild(el("mark", "", text.slice(a, b))); }
    frag.appendChild(document.createTextNode(text.slice(b)));
    return frag;
  }

  function headers() {
    var h = { "Content-Type": "application/json" };
    if (opt.apiKey) { h.Authorization = "Bearer " + opt.apiKey; }
    return h;
  }

  function ask(question) {
    var body = { question: question, k: k, history: history.slice(-5) };
    if (opt.collection) { body.collection = opt.collection; }
    return body;
  }

  function call(path, init) {
    /* fetch base + path; resolves to {res, body} with body the parsed JSON, or null if it is not JSON. */
    return fetch(base + path, init).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        return { res: res, body: body };
      });
    });
  }

  var NEEDS_KEY = "This assistant needs an access key, which this page does not send. Tell the course " +
    "staff: it is added with the script tag's data-api-key (an iframe cannot send one).";
  /* qa.web.chat.NO_DOCUMENTS and INDEXING: the chat page's words */
  var NO_DOCUMENTS = "This course has no documents to answer from yet; its staff add them. Please ask again later.";
  var INDEXING = "This course's documents are being indexed; please ask again in a minute.";

  function unanswerable(body) {
    /* a 409: the course has no indexed documents, or its first build runs (the server's own words
     * are for authors: "upload some") */
    return body && /being indexed/.test(body.error || "") ? INDEXING : NO_DOCUMENTS;
  }
  var WRONG_KEY = "The access key on this page is not accepted (it may have been changed). Tell the course staff.";

  /* qa.web.course_scope.OTHER_COURSE: a portal set the key of one course and asks another */
  var OTHER_COURSE = "The assistant is not set up for this course on this page. Tell the site's administrator.";
  var UNKNOWN_COURSE = "This page asks for a course the assistant does not have. Tell the course staff.";
  var SESSION_ENDED = "This session has ended. Open the assistant again from your course page, then ask again.";

  function errorText(res, body) {
    if (res.status === 401 && opt.lms) { return SESSION_ENDED; }  /* an LMS launch's session, not a key */
    if (res.status === 401) { return opt.apiKey ? WRONG_KEY : NEEDS_KEY; }
    if (res.status === 409) { return unanswerable(body); }
    if (res.status === 403 && body && body.error === "this key is for another course") { return OTHER_COURSE; }
    if (body && typeof body.error === "string") { return body.error; }
    if (res.ok) { return "The assistant sent an answer this page cannot read."; }
    return "The assistant answered with an error (" + res.status + ").";
  }

  var UNREACHABLE = "Could not reach the course assistant; it may be restarting. Try again in a moment.";
  var NOT_ALLOWED = "This page is not allowed to use the course assistant (its address is not among " +
    "the server's allowed origins). Tell the course staff.";

  function whyUnanswered() {
    /* A script sees a server that is down and one that refuses this page's origin (no CORS
     * headers) alike. A look at the health route tells them apart: read as this page may (CORS),
     * the server is up and lets the page in; only seen (no-cors), it is up but refuses the page. */
    if (opt.lms || new URL(base || "/", location.href).origin === location.origin) {
      return Promise.resolve(UNREACHABLE);  /* the server's own pages: no origin to refuse */
    }
    /* a portal may be allowed for its own course only (the course's settings) */
    var health = base + "/api/v1/health" + (opt.collection ? "?collection=" + encodeURIComponent(opt.collection) : "");
    return fetch(health, { cache: "no-store" }).then(function () { return UNREACHABLE; }, function () {
      return fetch(health, { mode: "no-cors", cache: "no-store" })
        .then(function () { return NOT_ALLOWED; }, function () { return UNREACHABLE; });
    });
  }

  function showContext(card, passage, button, plain) {
    var existing = card.querySelector(".ctx");
    if (existing) { existing.remove(); button.textContent = SEE_IN_CONTEXT; return; }
    var box = el("div", "ctx", "Loading…");
    card.appendChild(box);
    button.textContent = "hide context";
    call(passage.context_url, { headers: headers() })
      .then(function (got) {
        var res = got.res, ctx = got.body;
        box.textContent = "";
        if (!res.ok || !ctx || !ctx.window) { box.appendChild(el("span", "err", errorText(res, ctx))); return; }
        box.appendChild(document.createTextNode((ctx.window.start > 0 ? "… " : "") + ctx.before));
        var inner = el("span", "in");
        var h = (!plain && ctx.highlight) || { start: ctx.start, end: ctx.start };
        inner.appendChild(marked(ctx.passage, ctx.start, h.start, h.end));
        box.appendChild(inner);
        box.appendChild(document.createTextNode(ctx.after + " …"));
        box.scrollTop = Math.max(0, inner.offsetTop - 40);  /* the passage, not the page, scrolls */
        var log = card.closest(".log");
        if (log) {
          var top = box.getBoundingClientRect().top - log.getBoundingClientRect().top;
          if (top > log.clientHeight - 120) { log.scrollTop += top - 60; }
        }
      })
      .catch(function () { box.textContent = ""; box.appendChild(el("span", "err", "Could not load the context.")); });
  }

  function served(url) {
    /* a web address as it is; a path of this server (an original, a document's page) under its base */
    url = url || "";
    if (/^https?:\/\//.test(url)) { return url; }
    return url.indexOf("/originals/") === 0 || url.indexOf("/context/") === 0 ? base + url : "";
  }

  function newTab(href, text, role) {
    var link = el("a", "", text);
    link.href = href; link.target = "_blank"; link.rel = "noopener noreferrer";
    link.setAttribute("data-role", role);
    link.setAttribute("aria-label", text.replace(/ ↗$/, "") + " (" + NEW_TAB + ")");
    return link;
  }

  function renderAnswer(log, answer) {
    /* Passage [1] open, the others folded under their citation labels; a declined answer says
     * so (the server's notice) and shows its closest text unmarked. */
    var wrap = el("div", "a" + (answer.abstained ? " closest" : ""));
    wrap.setAttribute("data-role", "answer");
    var passages = answer.passages || [];
    if (answer.abstained) {
      var notice = el("p", "decline", answer.notice);
      notice.setAttribute("data-role", "notice");
      notice.setAttribute("role", "status");
      wrap.appendChild(notice);
      if (passages.length) { wrap.appendChild(el("p", "note", answer.closest_label)); }
    }
    passages.forEach(function (p, i) {
      var card = el("details", "p");
      card.open = i === 0 && !answer.abstained;
      card.setAttribute("data-role", "passage");
      var c = p.citation;
      var cite = el("summary", "cite");
      var number = el("strong", "", "[" + (i + 1) + "] ");
      number.appendChild(el("span", "label", c.label));  /* its own direction, after the number */
      cite.appendChild(number);
      cite.appendChild(document.createTextNode(" · " + c.words.label));
      card.appendChild(cite);
      var body = el("div", "text");
      if (answer.abstained) {
        body.textContent = p.text;
      } else {
        body.appendChild(marked(p.text, c.start, p.highlight.start, p.highlight.end));
      }
      card.appendChild(body);
      var detail = el("div", "detail", c.source + " · ");
      var href = served(c.link);
      var page = served(c.context_page);
      if (href && href !== page) {
        detail.appendChild(newTab(href, ORIGINAL, "original"));
        detail.appendChild(document.createTextNode(" · "));
      }
      if (page) {
        detail.appendChild(newTab(page, IN_DOCUMENT, "in-document"));
        detail.appendChild(document.createTextNode(" · "));
      }
      if (c.stale) {
        detail.appendChild(el("span", "stale", STALE));
        detail.appendChild(document.createTextNode(" · "));
      }
      var more = el("button", "", SEE_IN_CONTEXT);
      more.type = "button";
      more.setAttribute("data-role", "context");
      more.addEventListener("click", function () { showContext(card, p, more, answer.abstained); });
      detail.appendChild(more);
      card.appendChild(detail);
      wrap.appendChild(card);
    });
    log.appendChild(wrap);
    return wrap;
  }

  function build() {
    var host = el("div");
    host.setAttribute("data-qa-widget", "");
    host.setAttribute("data-theme", theme);
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    var style = el("style", "", CSS);
    root.appendChild(style);

    var target = opt.target ? document.querySelector(opt.target) : null;
    var layout = mode === "bubble" ? "floating hidden" : target ? "contained" : "inline";
    host.setAttribute("data-layout", layout.split(" ")[0]);
    var panel = el("section", "panel " + layout);
    /* a dialog only where it opens over the page (the bubble's panel); shown in place (/embed, an
     * LMS page) it is a region of the page, which screen readers did not take for a dialog */
    panel.setAttribute("role", mode === "bubble" ? "dialog" : "region");
    panel.setAttribute("aria-label", title);
    var head = el("header");
    head.appendChild(el("h2", "", title));  /* a heading to find it by, as screen readers navigate */
    var log = el("div", "log");
    log.setAttribute("aria-live", "polite");
    /* qa.web.ui.ANSWERS_ARE: the chat page's words */
    log.appendChild(el("p", "note", "Every answer is a passage quoted from the documents, with where it comes from."));
    var form = el("form");
    var input = el("input");
    input.type = "text"; input.placeholder = "Ask a question…";
    input.setAttribute("aria-label", "Your question");
    var send = el("button", "", "Ask");
    send.type = "submit";
    form.appendChild(input); form.appendChild(send);
    var warn = el("p", "note err hidden");
    warn.setAttribute("data-role", "too-long");
    warn.setAttribute("role", "status");  /* said by screen readers as it appears */
    input.addEventListener("input", function () {
      var n = input.value.length;
      warn.textContent = n > MAX_QUESTION_CHARS ? "Your question is " + n.toLocaleString("en-US") +
        " characters long; the limit is " + MAX_QUESTION_CHARS.toLocaleString("en-US") +
        ". Shorten it before sending." : "";
      warn.classList.toggle("hidden", n <= MAX_QUESTION_CHARS);
    });
    panel.appendChild(head); panel.appendChild(log); panel.appendChild(warn); panel.appendChild(form);

    if (mode === "bubble") {
      var close = el("button", "", "×");
      close.type = "button"; close.setAttribute("aria-label", "Close");
      head.appendChild(close);
      var bubble = el("button", "bubble", "?");
      bubble.type = "button"; bubble.setAttribute("aria-label", title);
      bubble.setAttribute("aria-expanded", "false");
      var setOpen = function (open) {
        panel.classList.toggle("hidden", !open);
        bubble.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) { input.focus(); } else { bubble.focus(); }
      };
      bubble.addEventListener("click", function () { setOpen(panel.classList.contains("hidden")); });
      close.addEventListener("click", function () { setOpen(false); });
      panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") { setOpen(false); return; }
        if (event.key === "Tab") { cycle(event); }
      });
      var cycle = function (event) {
        /* Tab stays in the open panel, in the order a reader works in: the question, Ask, the
         * answers' links and buttons (top to bottom), then Close, and round again; Escape or
         * Close goes back to the bubble. In the page's order Tab went from Ask out to the page. */
        var inLog = Array.prototype.slice.call(log.querySelectorAll("a[href], button, summary"));
        var order = [input, send].concat(inLog, [close]).filter(function (node) {
          var folded = node.closest("details:not([open])");  /* a folded passage: its label only */
          var shown = !folded || (node.tagName === "SUMMARY" && node.parentNode === folded);
          return shown && !node.disabled && node.getClientRects().length > 0;
        });
        var at = order.indexOf(root.activeElement || document.activeElement);
        var step = event.shiftKey ? -1 : 1;
        var next = at < 0 ? (event.shiftKey ? order.length - 1 : 0) : (at + step + order.length) % order.length;
        event.preventDefault();
        order[next].focus();
      };
      root.appendChild(bubble);
    }
    root.appendChild(panel);

    function keep(question) {
      /* a question that got no answer goes back into the box (unless something new was typed) */
      if (!input.value) { input.value = question; }
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var question = input.value.trim();
      if (!question || question.length > MAX_QUESTION_CHARS) { input.focus(); return; }
      var asked = el("div", "q", question);
      log.appendChild(asked);
      var waiting = el("p", "note", "Searching the documents…");
      log.appendChild(waiting);
      log.scrollTop = log.scrollHeight;
      input.value = ""; send.disabled = true;
      call("/api/v1/ask", {
        method: "POST", headers: headers(),
        body: JSON.stringify(ask(question))
      })
        .then(function (got) {
          var res = got.res, body = got.body;
          waiting.remove();
          if (!res.ok || !body || !body.passages) {
            /* the page names a course the server lacks, or a name no course can have ('Bio-101') */
            var malformed = res.status === 422 && body && /^collection\b/.test(body.error || "");
            var unknown = (res.status === 404 || malformed) && opt.collection;
            log.appendChild(el("p", "note err", unknown ? UNKNOWN_COURSE : errorText(res, body)));
            keep(question);
            return;
          }
          history.push(question);
          renderAnswer(log, body);
        })
        .catch(function () {
          return whyUnanswered().then(function (words) {
            waiting.remove();
            keep(question);
            log.appendChild(el("p", "note err", words));
          });
        })
        .then(function () {
          send.disabled = false;
          log.scrollTop = Math.max(0, asked.offsetTop - log.offsetTop - 8);  /* the answer's start */
          input.focus();
        });
    });

    (target || document.body).appendChild(host);

    if (!opt.lms) {
      /* a course without indexed documents says so when the widget opens, as the chat page does,
       * not only once a question is refused (health is open, without a key) */
      call("/api/v1/health" + (opt.collection ? "?collection=" + encodeURIComponent(opt.collection) : ""),
           { cache: "no-store" })
        .then(function (got) {
          if (got.res.status !== 409) { return; }
          var note = el("p", "note err", unanswerable(got.body));
          note.setAttribute("data-role", "no-documents");
          log.appendChild(note);
        }, function () { /* unreachable: a question says so */ });
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", build);
  } else {
    build();
  }
})();
