() => {
  /* The chat page's behaviour in the browser (qa/web/ui.py loads this once, on page load).
   * - copy: the "Copy answer" button copies the answer's plain text, kept in a hidden element
   *   beside it (the chat's own copy button would copy HTML; the sanitiser drops data attributes);
   *   "Copied" is also said in a polite live region of the page (a button's new text is not).
   * - scroll: bring the newest question and the start of its answer into view, not its bottom,
   *   and in a short window the conversation's top and the question box.
   * - lengthNotice: say a question is over the limit while it is typed, before it is sent.
   * - the notice under the question box is a live region (role=status).
   * - the course picker's list closes when Tab leaves it.
   * - draft: what is in the question box when the page goes away (Gradio reloads the page once
   *   a lost server is back, after a restart or a dropped connection) is put back after it.
   * - watch: an idle page notices a lost or restarted server by itself and says so.
   * - resend: a question whose request failed on the network is sent again before Gradio
   *   takes the server for lost (and reloads the page, which starts the conversation afresh).
   * One delegated listener, so it works for answers added later. */
  if (window.qaChat) return;
  const fallback = (text) => {
    const area = document.createElement("textarea");
    area.value = text;
    area.style.position = "fixed";
    area.style.left = "-9999px";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  };
  const announce = (text) => {
    /* one visually hidden polite live region, made once (answers pass a sanitiser: not in them) */
    let region = document.getElementById("qa-announce");
    if (!region) {
      region = document.createElement("div");
      region.id = "qa-announce";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      region.style.cssText = "position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);" +
        "clip-path:inset(50%);white-space:nowrap;margin:-1px;padding:0;border:0";
      document.body.appendChild(region);
    }
    region.textContent = "";  /* the same words again are a change, so said again */
    setTimeout(() => { region.textContent = text; }, 50);
  };
  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest("button.qa-copy");
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    const plain = button.parentElement.querySelector(".qa-plain");
    const text = plain ? plain.textContent : "";
    try { await navigator.clipboard.writeText(text); } catch (e) { fallback(text); }
    button.textContent = "Copied";
    announce("Answer copied");
    setTimeout(() => { button.textContent = "Copy answer"; }, 1500);
  }, true);

  /* Tab out of the course picker: Gradio's dropdown handles every key after a tick, and for
   * Tab that is after the blur that closed its list, so the list opened again under the next
   * field. Tab only moves the focus there (the blur still closes the list). */
  document.addEventListener("keydown", (event) => {
    if (event.key === "Tab" && event.target.closest && event.target.closest("#collection")) {
      event.stopPropagation();
    }
  }, true);

  const scroll = (chat) => {
    const want = (chat || []).filter((m) => m.role === "assistant").length;
    let frames = 0;
    const go = () => {
      const answers = document.querySelectorAll("#chat .qa-answer");
      if (answers.length < want && frames++ < 120) { requestAnimationFrame(go); return; }
      const last = answers[answers.length - 1];
      if (!last) return;
      let box = last.parentElement;
      while (box && box !== document.body) {
        const overflow = getComputedStyle(box).overflowY;
        if ((overflow === "auto" || overflow === "scroll") && box.scrollHeight > box.clientHeight) break;
        box = box.parentElement;
      }
      if (!box || box === document.body) return;
      const row = last.closest(".message-row");
      const question = row && row.previousElementSibling;
      const target = question && question.classList.contains("user-row") ? question : last;
      const top = target.getBoundingClientRect().top - box.getBoundingClientRect().top;
      box.scrollTo({ top: box.scrollTop + top - 8 });
      /* the page too, in a short window: the conversation's top and the question box in view */
      const area = document.getElementById("chat").getBoundingClientRect();
      const input = document.getElementById("question");
      const bottom = input ? input.getBoundingClientRect().bottom : area.bottom;
      if (area.top < 0 || bottom > window.innerHeight) {
        window.scrollBy({ top: Math.max(area.top - 8, bottom - window.innerHeight + 8) });
      }
    };
    requestAnimationFrame(go);
  };

  const lengthNotice = (question, limit) => {
    const n = (question || "").length;
    if (n <= limit) return "";
    return "Your question is " + n.toLocaleString("en-US") + " characters long; the limit is " +
      limit.toLocaleString("en-US") + ". Shorten it before sending.";
  };

  /* the notice under the question box (a question refused, one over the limit, a course with
   * no documents) is said by screen readers as it appears: Gradio's Markdown is no live region,
   * so a refused question was silent. Its text, not the whole component (whose progress timer
   * counts while an answer is searched), is the status. */
  const announceNotice = (tries) => {
    const text = document.querySelector("#qa-notice [data-testid=markdown]");
    if (text) { text.setAttribute("role", "status"); return; }
    if (tries < 100) setTimeout(() => announceNotice(tries + 1), 100);
  };
  announceNotice(0);

  const DRAFT = "qa-draft";
  const questionBox = () => document.querySelector("#question textarea");
  window.addEventListener("pagehide", () => {
    const box = questionBox();
    try {
      if (box && box.value.trim()) sessionStorage.setItem(DRAFT, box.value);
      else sessionStorage.removeItem(DRAFT);
    } catch (e) { /* storage off: nothing to keep */ }
  });
  let draft = null;
  try { draft = sessionStorage.getItem(DRAFT); sessionStorage.removeItem(DRAFT); } catch (e) { draft = null; }
  if (draft) {
    let tries = 0;
    const restore = () => {
      const box = questionBox();
      if (!box) { if (tries++ < 100) setTimeout(restore, 100); return; }
      if (box.value) return;  // something typed already wins
      box.value = draft;
      box.dispatchEvent(new Event("input", { bubbles: true }));  // Gradio's value follows
    };
    restore();
  }

  /* watch: an idle page notices a server restart by itself. While the page is visible it asks
   * the server for its app id (a random number each start) every WATCH_EVERY ms; when that fails
   * it says the page is reconnecting and asks again sooner, backing off; when a different id
   * answers, the server restarted: it says so and reloads (the draft is kept by "pagehide" above;
   * the server kept no conversation to go on with). */
  const WATCH_EVERY = 10000;
  const notice = (text) => {
    let box = document.getElementById("qa-connection");
    if (!box) {
      box = document.createElement("div");
      box.id = "qa-connection";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = text;
    box.hidden = !text;
  };
  let known = null, wait = WATCH_EVERY, timer = null;
  const check = async () => {
    clearTimeout(timer);
    if (document.visibilityState !== "visible") return;  // looked at again when shown
    let id = null;
    try {
      const res = await fetch("gradio_api/app_id", { cache: "no-store" });
      if (res.ok) id = String((await res.json()).app_id);
    } catch (e) { id = null; }
    if (id === null) {
      notice("The connection to the server was lost; reconnecting … (what you typed stays in the box)");
      wait = wait >= WATCH_EVERY ? 1000 : Math.min(wait * 2, 15000);
    } else if (known !== null && id !== known) {
      notice("The server restarted; reloading the page. Your typed question is kept; the conversation starts afresh.");
      setTimeout(() => location.reload(), 1500);
      return;
    } else {
      known = id;
      notice("");
      wait = WATCH_EVERY;
    }
    timer = setTimeout(check, wait);
  };
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") check(); });
  check();

  /* resend: when the request that sends a question (queue/join) gets no answer at all (a
   * dropped connection, a flaky network), Gradio 6 shows "Connection to the server was lost" and
   * reloads the page as soon as the server answers again, even when it never restarted: the
   * conversation on the page was gone after one failed request. That request is sent again,
   * twice at most, after a short wait, before Gradio sees it fail. An answer of the server (an
   * error status included) is never sent again, nor a request the page itself cancelled. */
  const RESEND_AFTER = [500, 1500];
  const fetchOnce = window.fetch.bind(window);
  window.fetch = async (input, init) => {
    const url = String((input && input.url) || input || "");  /* a string, a URL or a Request */
    if (!/\/queue\/join(\?|$)/.test(url)) return fetchOnce(input, init);
    for (let attempt = 0; ; attempt++) {
      try {
        return await fetchOnce(input, init);
      } catch (e) {
        const cancelled = init && init.signal && init.signal.aborted;
        if (cancelled || attempt >= RESEND_AFTER.length) throw e;
        await new Promise((done) => setTimeout(done, RESEND_AFTER[attempt]));
      }
    }
  };

  window.qaChat = { scroll: scroll, lengthNotice: lengthNotice };
}
