/* qa admin page: collections, documents (drag-and-drop upload), indexing progress, and what
 * learners asked. Talks only to /api/v1/admin/... on this server with the admin key, which is
 * kept in this tab's sessionStorage. Everything from the server is inserted as text. */
(function () {
  "use strict";
  var API = "api/v1/admin";
  /* Opened from an LMS (qa/web/lti): one collection, authorised by the session in the URL. */
  var scoped = document.documentElement.getAttribute("data-collection") || "";
  /* where documents' pages are: beside /admin, or in the LTI session's chat folder */
  var DOCUMENTS = scoped ? location.pathname.replace(/\/admin\/([^/]+)\/.*$/, "/chat/$1/") : "";
  var key = "";
  try { key = sessionStorage.getItem("qa-admin-key") || ""; } catch (e) { key = ""; }
  var current = scoped || new URLSearchParams(location.search).get("collection") || "default";
  var polling = null;
  var showing = null;  /* the collection on the page, as the server last listed it */
  var UNREACHABLE = "the server did not answer (it may be restarting, or the connection dropped); " +
    "reload the page in a moment to see what it holds";
  var logged = false;  /* whether the server records learners' questions (QA_LOG_QUESTIONS) */
  /* what an empty view says: that nothing happened yet, or that nothing is recorded */
  var NOTHING = {
    "most-asked": "No questions asked in this collection yet.",
    "declined": "No declined questions yet.",
    "thumbs-down": "No thumbs down on any answer yet."
  };
  var NOT_LOGGED = "Nothing recorded: learners' questions are kept only when the server runs with " +
    "QA_LOG_QUESTIONS=1 (thumbs down are always kept).";

  function $(id) { return document.getElementById(id); }
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }
  function say(text, isError, lines) {
    $("message").textContent = text || "";
    $("message").className = isError ? "error" : "";
    if (lines && lines.length) {
      var list = el("ul");
      lines.forEach(function (line) { list.appendChild(el("li", line)); });
      $("message").appendChild(list);
    }
  }

  function when(iso) {
    /* "2026-11-26T16:56:01+00:00" as "2026-11-26 16:56 UTC" (the server keeps UTC) */
    var m = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(\+00:00|Z)$/.exec(iso || "");
    return m ? m[1] + " " + m[2] + " UTC" : iso;
  }

  function call(method, path, body, raw) {
    var sent = key;
    var init = { method: method, headers: scoped ? {} : { Authorization: "Bearer " + key } };
    if (body !== undefined) {
      if (raw) { init.body = body; init.headers["Content-Type"] = "application/octet-stream"; }
      else { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    }
    return fetch(API + path, init).catch(function () {
      /* no answer at all (the browser says only "Failed to fetch"): the server is down or restarting */
      throw new Error(UNREACHABLE);
    }).then(function (res) {
      return res.text().then(function (text) { return answered(res.status, text, sent); });
    });
  }

  function answered(status, text, sent) {
    /* the data of a server's answer, or an Error saying in words why it refused */
    var data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = text; }
    if (status >= 200 && status < 300) { return data; }
    var message = data && data.error ? data.error : "the server answered " + status;
    if (status === 401) {
      $("main").hidden = true;
      if (!scoped) {  /* the typed key is wrong: say so in words, and forget it */
        message = sent ? "That is not the admin key (the server's QA_ADMIN_KEY). Type it again."
          : "Enter the admin key to manage the collections.";
        key = "";
        try { sessionStorage.removeItem("qa-admin-key"); } catch (e) { /* private mode */ }
      }
    }
    var error = new Error(message);
    error.status = status;
    throw error;
  }

  function send(path, file, progress) {
    /* PUT a file as the body, telling progress(fraction) as it goes (fetch cannot say how much
     * of a body is sent) */
    var sent = key;
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", API + path);
      if (!scoped) { xhr.setRequestHeader("Authorization", "Bearer " + key); }
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable && event.total) { progress(event.loaded / event.total); }
      };
      xhr.onerror = function () { reject(new Error(UNREACHABLE)); };
      xhr.onload = function () {
        try { resolve(answered(xhr.status, xhr.responseText, sent)); } catch (err) { reject(err); }
      };
      xhr.send(file);
    });
  }

  var limit = 0;  /* the largest upload the server takes, in bytes (0: not known yet) */
  function mib(bytes) {
    var m = bytes / 1048576;
    return (m >= 10 ? Math.round(m) : Math.round(m * 10) / 10).toLocaleString("en") + " MiB";
  }

  var readable = "";  /* "Readable types: .pdf, ..." once the server has said them */
  function showTypes() {  /* the two answers may come in either order, and load() runs again */
    $("types").textContent = readable + (readable && limit ? "; at most " + mib(limit) + " a file" : "");
  }

  function load() {
    call("GET", "/formats").then(function (types) {
      readable = "Readable types: " + types.join(", ");
      $("file").accept = types.join(",");
      showTypes();
    }).catch(function () { /* the collections call shows the error */ });
    call("GET", "/limits").then(function (l) {
      limit = l.max_upload_bytes;
      showTypes();
    }).catch(function () { /* the server refuses too large a file itself */ });
    return call("GET", "/collections").then(function (list) {
      $("main").hidden = false;
      if (!list.some(function (c) { return c.name === current; })) { current = "default"; }
      renderList(list);
      var chosen = list.filter(function (c) { return c.name === current; })[0];
      renderCollection(chosen);
      if (chosen.status.state === "queued" || chosen.status.state === "indexing") { watch(); }
    }).catch(function (err) { say(err.message, true); });
  }

  function renderList(list) {
    var ul = $("collections");
    ul.textContent = "";
    list.forEach(function (c) {
      var li = el("li");
      var b = el("button", c.title + " (" + c.name + ")");
      b.type = "button";
      b.setAttribute("data-name", c.name);
      b.setAttribute("aria-current", c.name === current ? "true" : "false");
      b.addEventListener("click", function () { current = c.name; load(); });
      li.appendChild(b);
      ul.appendChild(li);
    });
  }

  function renderCollection(c) {
    if (!showing || showing.name !== c.name) { $("rename-form").hidden = true; }  /* another collection */
    showing = c;
    $("collection-title").textContent = c.title + " (" + c.name + ")";
    $("rename").hidden = !!scoped || !$("rename-form").hidden;
    $("chat-link").href = c.name === "default" ? "./" : "./?collection=" + encodeURIComponent(c.name);
    $("delete-collection").hidden = c.name === "default" || !!scoped;
    /* a deck counts slides, a PDF pages; formats without pages count the words read */
    function pageCount(d) {
      if (!d.pages) { return d.words ? d.words.toLocaleString("en") + " word" + (d.words === 1 ? "" : "s") : ""; }
      var unit = d.format === "pptx" ? "slide" : "page";
      return d.pages + " " + unit + (d.pages === 1 ? "" : "s");
    }
    var body = $("documents").querySelector("tbody");
    body.textContent = "";
    c.documents.forEach(function (d) {
      var tr = el("tr");
      tr.setAttribute("data-name", d.name);
      var refused = !d.indexed_at && d.warnings.length > 0;  /* the reader cannot read it: no build will */
      var name = el("td");
      if (d.page_url) {  /* how the index reads it: the document's page, opened in a new tab */
        var open = el("a", d.name);
        open.href = DOCUMENTS + d.page_url.replace(/^\//, "");
        open.target = "_blank"; open.rel = "noopener";
        open.title = "How the index reads it";
        name.appendChild(open);
      } else {
        name.textContent = d.name;
      }
      tr.appendChild(name);
      tr.appendChild(titleCell(c, d, d.title || (refused ? "(not indexed)" : "(not indexed yet)")));
      [d.format, pageCount(d), d.windows, when(d.indexed_at) ||
        (refused ? "never: see warnings" : c.status.state === "stopped" ? "not yet: build stopped" : "pending")]
        .forEach(function (v) { tr.appendChild(el("td", v)); });
      tr.appendChild(el("td", d.warnings.join("; "), "warn"));
      var td = el("td");
      var del = el("button", "Delete");
      del.type = "button";
      del.setAttribute("aria-label", "Delete " + d.name);
      del.addEventListener("click", function () {
        if (!confirm("Delete " + d.name + " from " + c.name + "?")) { return; }
        call("DELETE", "/collections/" + c.name + "/documents/" + encodeURIComponent(d.name))
          .then(function (status) { showStatus(status); watch(); load(); })
          .catch(function (err) { say(err.message, true); });
      });
      td.appendChild(del);
      tr.appendChild(td);
      body.appendChild(tr);
    });
    if (!c.documents.length) {
      var empty = el("tr");
      var cell = el("td", "No documents yet: drop some above.");
      cell.colSpan = 8;
      empty.appendChild(cell);
      body.appendChild(empty);
    }
    showStatus(c.status);
    logged = !!c.questions_logged;
    loadQuestions();
    loadKeys(c);
  }

  /* course keys: each opens only this course's API (the server key opens every course). A new
   * key is shown once, in #new-key, and forgotten when hidden or another course is shown. */
  var keysOf = "";
  var KEYS_REQUIRED = "A course key opens only this course's answers and documents, through the API " +
    "and the widget; the server key (QA_API_KEY) opens every course. A revoked key stops working at once.";
  var KEYS_OPEN = "This server is open (QA_API_KEY is not set): every course answers without a key, so " +
    "course keys have no effect until QA_API_KEY is set. Keys made now work from then on.";
  function hideNewKey() {
    $("new-key-value").value = "";
    $("new-key").hidden = true;
  }
  function snippet(c) {
    var src = new URL("widget.js", location.href).href;
    return '<script src="' + src + '"' + (c.name === "default" ? "" : ' data-collection="' + c.name + '"') +
      ' data-api-key="COURSE_KEY" defer></script>';
  }
  function loadKeys(c) {
    if (scoped) { return; }
    if (keysOf !== c.name) { hideNewKey(); keysOf = c.name; }
    $("embed-snippet").textContent = snippet(c);
    call("GET", "/collections/" + c.name + "/keys").then(function (data) {
      if (c.name !== current) { return; }
      $("keys-note").textContent = data.required ? KEYS_REQUIRED : KEYS_OPEN;
      var body = $("keys").querySelector("tbody");
      body.textContent = "";
      data.keys.forEach(function (k) {
        var tr = el("tr");
        tr.setAttribute("data-key", k.id);
        [k.label, k.prefix + "…", when(k.created), k.last_used ? when(k.last_used) : "never"].forEach(function (v) {
          tr.appendChild(el("td", v));
        });
        var td = el("td");
        var revoke = el("button", "Revoke");
        revoke.type = "button";
        revoke.setAttribute("aria-label", "Revoke the key used by " + k.label);
        revoke.addEventListener("click", function () {
          if (!confirm("Revoke the key “" + k.label + "” (" + k.prefix + "…)? Portals using it stop " +
              "getting answers at once.")) { return; }
          call("DELETE", "/collections/" + c.name + "/keys/" + encodeURIComponent(k.id))
            .then(function () { say("revoked the key “" + k.label + "”"); loadKeys(c); })
            .catch(function (err) { say(err.message, true); });
        });
        td.appendChild(revoke);
        tr.appendChild(td);
        body.appendChild(tr);
      });
      if (!data.keys.length) {
        var empty = el("tr");
        var cell = el("td", "No course keys yet.");
        cell.colSpan = 5;
        empty.appendChild(cell);
        body.appendChild(empty);
      }
    }).catch(function (err) { say(err.message, true); });
  }
  function copyText(text, input) {
    /* the clipboard where the browser allows it, else the selected text copied the old way */
    function old() {
      if (input) { input.focus(); input.select(); }
      return document.execCommand && document.execCommand("copy");
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text).then(function () { return true; }, old);
    }
    return Promise.resolve(old());
  }

  function titleCell(c, d, shown) {
    /* the title citations give, and a button to change it (a sidecar the server writes) */
    var td = el("td");
    td.appendChild(el("span", shown));
    if (d.warnings.length && !d.indexed_at) { return td; }
    var edit = el("button", "Edit", "small");
    edit.type = "button";
    edit.setAttribute("aria-label", "Edit the title of " + d.name);
    edit.addEventListener("click", function () {
      var form = el("form", null, "title-form");
      var label = el("label", "Title of " + d.name, "visually-hidden");
      var input = el("input");
      input.id = "title-" + Math.random().toString(36).slice(2);
      label.htmlFor = input.id;
      input.value = d.title;
      input.maxLength = 200;
      input.placeholder = "empty: the document's own title";
      var save = el("button", "Save");
      save.type = "submit";
      var cancel = el("button", "Cancel");
      cancel.type = "button";
      form.appendChild(label); form.appendChild(input); form.appendChild(save); form.appendChild(cancel);
      function close() { td.textContent = ""; td.appendChild(el("span", shown)); td.appendChild(edit); edit.focus(); }
      cancel.addEventListener("click", close);
      input.addEventListener("keydown", function (event) { if (event.key === "Escape") { event.preventDefault(); close(); } });
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var title = input.value.trim();
        call("PUT", "/collections/" + c.name + "/documents/" + encodeURIComponent(d.name) + "/title", { title: title })
          .then(function (status) {
            say((title ? "title of " + d.name + " set to “" + title + "”" : "title of " + d.name +
              " reset to the document's own") + "; indexing in the background");
            showStatus(status); watch(); load();
          })
          .catch(function (err) { say(err.message, true); input.focus(); });
      });
      td.textContent = "";
      td.appendChild(form);
      input.focus();
      input.select();
    });
    td.appendChild(edit);
    return td;
  }

  function showStatus(s) {
    var text = s.state;
    if (s.state === "indexing") {
      text = "indexing: " + s.message;  // the stage with its counts and speed
      $("bar").value = s.to_embed ? s.embedded / s.to_embed : 0;
    } else if (s.state === "done" || s.state === "ready") {
      /* "ready": nothing built by this server since it started; the counts are the index's */
      text = s.state + ": " + s.documents.toLocaleString("en") + (s.documents === 1 ? " document, " : " documents, ") +
        s.windows.toLocaleString("en") + " windows";
      $("bar").value = 1;
    } else if (s.state === "empty") {
      text = "no indexed documents yet";
      $("bar").value = 0;
    } else if (s.state === "failed") {
      text = "failed: " + s.message + " (learners still get answers from the previous index)";
    } else if (s.state === "stopped") {
      text = s.message;  /* "Build stopped; the course still answers from the documents of <time>" */
      $("bar").value = 0;
    } else if (s.state === "queued") {
      $("bar").value = 0;
    }
    if (s.skipped && s.skipped.length) { text += "; skipped: " + s.skipped.join("; "); }
    $("state").textContent = text;
    $("stop-build").hidden = !(s.state === "queued" || s.state === "indexing");
    if ($("progress").getAttribute("data-state") !== s.state) {  /* said once per state, not per count */
      $("announce").textContent = s.state === "indexing" ? "indexing" : text;
    }
    $("progress").setAttribute("data-state", s.state);
  }

  function watch() {
    if (polling) { return; }
    var name = current;
    polling = setInterval(function () {
      call("GET", "/collections/" + name + "/status").then(function (s) {
        if (name !== current) { return; }
        showStatus(s);
        if (s.state !== "queued" && s.state !== "indexing") {
          clearInterval(polling); polling = null; load();
        }
      }).catch(function (err) { clearInterval(polling); polling = null; say(err.message, true); });
    }, 500);
  }

  function refusal(file, err) {
    /* why one file was refused, starting with its name */
    var why = err.status === 413 ? "larger than an upload may be" + (limit ? " (" + mib(limit) + ")" : "") + "; split it"
      : err.message;
    return why.indexOf(file.name) === 0 ? why : file.name + ": " + why;
  }

  function upload(files) {
    /* one file after the other; every file's outcome stays listed, not just the last one's */
    var name = current;
    var queue = Array.prototype.slice.call(files);
    var present = Array.prototype.map.call(
      $("documents").querySelectorAll("tbody tr[data-name]"), function (tr) { return tr.getAttribute("data-name"); });
    var same = queue.filter(function (f) { return present.indexOf(f.name) >= 0; });
    if (same.length && !confirm("Replace " + same.map(function (f) { return f.name; }).join(", ") +
        " (a document of that name is in " + name + " already)?")) {
      queue = queue.filter(function (f) { return present.indexOf(f.name) < 0; });
      if (!queue.length) { say("nothing uploaded: the documents were kept as they are"); return Promise.resolve(); }
    }
    var total = queue.length, stored = [], refused = [];
    /* too large for the server: refused at once, by name, without sending them; the others go */
    queue = queue.filter(function (f) {
      if (!limit || f.size <= limit) { return true; }
      refused.push(f.name + ": " + mib(f.size) + ", larger than the " + mib(limit) +
        " an upload may be; split it or make it smaller");
      return false;
    });
    function summary() {
      /* what was stored reads as news, only what was refused as an error */
      var ok = stored.length ? "uploaded " + stored.join(", ") + "; indexing in the background" : "";
      var bad = refused.length ? refused.length + " of " + total + " refused (nothing changed for them):" : "";
      if (!ok || !bad) { say(ok || bad, refused.length > 0, refused); return; }
      say(ok + ". ");
      var part = el("div", null, "error");
      part.appendChild(document.createTextNode(bad));
      var list = el("ul");
      refused.forEach(function (line) { list.appendChild(el("li", line)); });
      part.appendChild(list);
      $("message").appendChild(part);
    }
    function next() {
      var file = queue.shift();
      if (!file) { $("upload-bar").hidden = true; summary(); watch(); return Promise.resolve(); }
      var done = stored.length + refused.length;
      var doing = "uploading " + (total > 1 ? (done + 1) + " of " + total + ": " : "") + file.name;
      say(doing + " …", false, refused);
      var shown = -1;
      function progress(fraction) {  /* a large file says how far it is, at most once a percent */
        var percent = Math.floor(fraction * 100);
        if (file.size < 1048576 || percent === shown) { return; }
        shown = percent;
        say(doing + ": " + percent + "% of " + mib(file.size) + " sent …", false, refused);
        $("upload-bar").hidden = false;
        $("upload-bar").value = fraction;
      }
      return send("/collections/" + name + "/documents/" + encodeURIComponent(file.name), file, progress)
        .then(function (status) { stored.push(file.name); showStatus(status); })
        .catch(function (err) { refused.push(refusal(file, err)); })
        .then(next);
    }
    return next().then(load);
  }

  function loadQuestions() {
    var view = $("view").value;
    var body = $("questions").querySelector("tbody");
    call("GET", "/collections/" + current + "/questions?view=" + view).then(function (rows) {
      body.textContent = "";
      rows.forEach(function (q) {
        var tr = el("tr");
        /* a declined question that new material answers since: said first, so it reads as fixed */
        var why = q.answered_since ? "answered since " + when(q.answered_since) + (q.reason ? " (declined before: " + q.reason + ")" : "")
          : q.reason || "";
        if (q.answered_since) { tr.className = "answered"; }
        [q.question, q.asked, q.declined, q.thumbs_down, when(q.last), why].forEach(function (v) {
          tr.appendChild(el("td", v));
        });
        body.appendChild(tr);
      });
      if (!rows.length) {
        var tr = el("tr");
        var td = el("td", logged || view === "thumbs-down" ? NOTHING[view] : NOT_LOGGED);
        td.colSpan = 6;
        tr.appendChild(td);
        body.appendChild(tr);
      }
    }).catch(function (err) { say(err.message, true); });
  }

  function exportRows(format) {
    var view = $("view").value;
    fetch(API + "/collections/" + current + "/questions/export?view=" + view + "&format=" + format,
      { headers: scoped ? {} : { Authorization: "Bearer " + key } })
      .then(function (res) { if (!res.ok) { throw new Error("export failed (" + res.status + ")"); } return res.blob(); })
      .then(function (blob) {
        var a = el("a");
        a.href = URL.createObjectURL(blob);
        a.download = current + "-" + view + "." + format;
        document.body.appendChild(a);
        a.click();
        a.remove();
      })
      .catch(function (err) { say(err.message, true); });
  }

  $("key-form").addEventListener("submit", function (event) {
    event.preventDefault();
    key = $("key").value.trim();
    sessionStorage.setItem("qa-admin-key", key);
    $("key").value = "";
    say("");
    load();
  });
  $("create-form").addEventListener("submit", function (event) {
    event.preventDefault();
    call("POST", "/collections", { name: $("new-name").value.trim(), title: $("new-title").value.trim() })
      .then(function (c) { current = c.name; $("new-name").value = ""; $("new-title").value = ""; say("created " + c.name); load(); })
      .catch(function (err) { say(err.message, true); });
  });
  /* rename: the title learners see (the picker, the chat page's heading, the tab); the name in
   * links stays. The settings route takes the whole settings, so the others go back unchanged. */
  function closeRename() { $("rename-form").hidden = true; $("rename").hidden = !!scoped; $("rename").focus(); }
  $("rename").addEventListener("click", function () {
    if (!showing) { return; }
    $("rename-title").value = showing.title;
    $("rename-form").hidden = false;
    $("rename").hidden = true;
    $("rename-title").focus();
    $("rename-title").select();
  });
  $("rename-cancel").addEventListener("click", closeRename);
  $("rename-title").addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); closeRename(); }
  });
  $("rename-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var c = showing, title = $("rename-title").value.trim();
    if (!c || !title) { return; }
    call("PUT", "/collections/" + c.name + "/settings",
      { title: title, examples: c.examples, allowed_origins: c.allowed_origins })
      .then(function (changed) { say("renamed " + changed.name + " to “" + changed.title + "”"); closeRename(); load(); })
      .catch(function (err) { say(err.message, true); $("rename-title").focus(); });
  });
  $("delete-collection").addEventListener("click", function () {
    /* named as the list names it; a build of it is stopped first, which can take a moment */
    var named = showing && showing.name === current ? "“" + showing.title + "” (" + current + ")" : current;
    if (!confirm("Delete the collection " + named + " and all its documents?")) { return; }
    say("deleting " + named + " …");
    call("DELETE", "/collections/" + current).then(function () { say("deleted " + named); current = "default"; load(); })
      .catch(function (err) { say(err.message, true); });
  });
  var drop = $("drop");
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) { upload(event.dataTransfer.files); }
  });
  drop.addEventListener("keydown", function (event) {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); $("file").click(); }
  });
  $("file").addEventListener("change", function () { upload($("file").files); $("file").value = ""; });
  $("stop-build").addEventListener("click", function () {
    /* the build stops at its next step; the previous index keeps answering meanwhile */
    var button = $("stop-build");
    button.disabled = true;
    call("POST", "/collections/" + current + "/stop")
      .then(function (status) { showStatus(status); watch(); })
      .catch(function (err) { say(err.message, true); load(); })
      .then(function () { button.disabled = false; });
  });
  $("key-create-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var c = showing, label = $("key-label").value.trim();
    if (!c || !label) { return; }
    call("POST", "/collections/" + c.name + "/keys", { label: label }).then(function (made) {
      $("key-label").value = "";
      $("new-key-value").value = made.key;
      $("new-key").hidden = false;
      $("copy-key").textContent = "Copy key";
      $("new-key-value").focus();
      $("new-key-value").select();
      say("made the key “" + made.label + "”; copy it now: it is shown only once");
      loadKeys(c);
    }).catch(function (err) { say(err.message, true); $("key-label").focus(); });
  });
  $("copy-key").addEventListener("click", function () {
    copyText($("new-key-value").value, $("new-key-value")).then(function (ok) {
      $("copy-key").textContent = ok ? "Copied" : "Copy key";
      say(ok ? "key copied" : "select the key and copy it (the browser refused)", !ok);
    });
  });
  $("new-key-done").addEventListener("click", function () { hideNewKey(); $("key-label").focus(); });
  $("copy-snippet").addEventListener("click", function () {
    copyText($("embed-snippet").textContent).then(function (ok) {
      say(ok ? "snippet copied" : "select the snippet and copy it (the browser refused)", !ok);
    });
  });
  $("view").addEventListener("change", loadQuestions);
  $("export-jsonl").addEventListener("click", function () { exportRows("jsonl"); });
  $("export-csv").addEventListener("click", function () { exportRows("csv"); });
  $("clear-questions").addEventListener("click", function () {
    /* this collection's records only: the questions asked and the ratings given */
    var named = showing && showing.name === current ? "“" + showing.title + "” (" + current + ")" : current;
    if (!confirm("Clear every question learners asked in " + named + " and every rating they gave? " +
      "Export them first to keep them; this cannot be undone.")) { return; }
    call("DELETE", "/collections/" + current + "/questions")
      .then(function (done) {
        say("cleared what learners asked in " + named + ": " + done.removed.toLocaleString("en-US") +
          (done.removed === 1 ? " record" : " records") + " removed");
        loadQuestions();
      })
      .catch(function (err) { say(err.message, true); });
  });
  if (scoped) {
    $("key-form").hidden = true;
    $("collections-section").hidden = true;
    $("main").style.gridTemplateColumns = "1fr";
    document.querySelector("h1").textContent = "This course's documents";
    $("chat-link").parentNode.hidden = true;
    $("keys-section").hidden = true;  /* keys are the operator's, made with the admin key */
  }
  if (key || scoped) { load(); } else { say("Enter the admin key to manage the collections."); }
})();
