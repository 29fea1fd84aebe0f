/*
 * What the send dialog (static/dialog.js) and the admin pages (static/admin.js, static/space.js) share: the
 * page's strings, the host (where the page was opened, its locale, flags, closing the dialog), the JSON API
 * client (DESIGN §7), the message box and the people/group picker (a combobox with chips). Published as window.pagemail; loaded
 * before the page scripts. Each page has one set of strings and one token cache, so both live here once per page.
 *
 * Two hosts, one page: in the Connect app the host is Confluence's AP bridge, and the API is fetched with a
 * context token; in the Forge app's Custom UI (forge/ui) the Forge transport, loaded first, has set
 * window.pagemailHost ({kind: "forge", context, locale, request, flag, close}: @forge/bridge), and every API
 * call goes through its request(), which invokeRemote signs itself (no token here, so no 401 retry either).
 */
(function () {
  "use strict";

  // A context token is reused until this many seconds before it expires.
  const TOKEN_MARGIN_S = 60;
  // How long to wait for the host (Confluence) to answer a bridge call before giving up.
  const HOST_TIMEOUT_MS = 20000;

  function byId(id) {
    return document.getElementById(id);
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function announce(text) {
    const announcer = byId("announcer");
    if (!announcer) {
      return;
    }
    // Emptying first makes screen readers repeat a message that is the same as the last one.
    announcer.textContent = "";
    window.setTimeout(function () {
      announcer.textContent = text;
    }, 50);
  }

  /* ---------------------------------------------------------------- strings */

  const i18n = {
    lang: "en",
    locale: "en",
    all: {},
    plural: new Intl.PluralRules("en"),
    number: new Intl.NumberFormat("en", { maximumFractionDigits: 1 }),
  };

  function t(key, params) {
    const table = i18n.all[i18n.lang] || {};
    const fallback = i18n.all.en || {};
    let value = key in table ? table[key] : fallback[key];
    if (value === undefined) {
      return key;
    }
    if (typeof value === "object") {
      const count = params && typeof params.count === "number" ? params.count : 0;
      value = value[i18n.plural.select(count)] || value.other;
    }
    return value.replace(/\{(\w+)\}/g, function (match, name) {
      return params && name in params ? String(params[name]) : match;
    });
  }

  function useLanguage(strings, locale) {
    i18n.all = strings && typeof strings === "object" ? strings : {};
    const wanted = String(locale || "").slice(0, 2).toLowerCase();
    i18n.lang = i18n.all[wanted] ? wanted : "en";
    i18n.locale = String(locale || i18n.lang).replace("_", "-").slice(0, 10);
    i18n.plural = new Intl.PluralRules(i18n.lang);
    i18n.number = new Intl.NumberFormat(i18n.lang, { maximumFractionDigits: 1 });
    document.documentElement.lang = i18n.lang;
  }

  function translatePage(titleKey) {
    document.querySelectorAll("[data-i18n]").forEach(function (node) {
      node.textContent = t(node.dataset.i18n);
    });
    document.querySelectorAll("[data-i18n-placeholder]").forEach(function (node) {
      node.setAttribute("placeholder", t(node.dataset.i18nPlaceholder));
    });
    document.querySelectorAll("[data-i18n-title]").forEach(function (node) {
      node.setAttribute("title", t(node.dataset.i18nTitle));
    });
    document.querySelectorAll("[data-i18n-aria-label]").forEach(function (node) {
      node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
    });
    if (titleKey) {
      document.title = t(titleKey);
    }
  }

  /* ------------------------------------------------------ the host (AP or Forge) */

  // An API or bridge failure. Pages subclass it; the subclass's name becomes the error's name.
  class PagemailError extends Error {
    constructor(message, status, code, details) {
      super(message);
      this.name = new.target.name;
      this.status = status || 0;
      this.code = code || "";
      this.details = details && typeof details === "object" ? details : {};
    }
  }

  // The Forge transport when the page runs as Forge Custom UI, else null (a Connect page: AP).
  function forgeHost() {
    const host = window.pagemailHost;
    return host && typeof host === "object" && host.kind === "forge" ? host : null;
  }

  function hostAvailable() {
    if (forgeHost()) {
      return true;
    }
    return typeof window.AP === "object" && window.AP !== null && !!window.AP.context;
  }

  // The promise's value, or a rejection with failure(code) when it takes longer than the host may take.
  function withinHostTime(promise, failure) {
    return askHost(function (done) {
      Promise.resolve(promise).then(done, function () {
        done(undefined);
      });
    }, failure);
  }

  /*
   * Calls the bridge and waits for its callback. failure(code) makes the error to reject with,
   * code being "host_timeout" or "host_error"; it is asked only when needed so its text is current.
   */
  function askHost(call, failure) {
    return new Promise(function (resolve, reject) {
      const timer = window.setTimeout(function () {
        reject(failure("host_timeout"));
      }, HOST_TIMEOUT_MS);
      try {
        call(function (value) {
          window.clearTimeout(timer);
          resolve(value);
        });
      } catch (error) {
        window.clearTimeout(timer);
        reject(failure("host_error"));
      }
    });
  }

  // The user's Confluence locale, or "" when the host can't tell.
  function hostLocale() {
    const forge = forgeHost();
    if (forge) {
      return withinHostTime(forge.locale(), function () {
        return new PagemailError("");
      }).then(
        function (locale) {
          return typeof locale === "string" ? locale : "";
        },
        function () {
          return "";
        }
      );
    }
    if (!hostAvailable() || !window.AP.user || typeof window.AP.user.getLocale !== "function") {
      return Promise.resolve("");
    }
    return askHost(
      function (done) {
        window.AP.user.getLocale(done);
      },
      function () {
        return new PagemailError("");
      }
    ).then(
      function (locale) {
        return typeof locale === "string" ? locale : "";
      },
      function () {
        return "";
      }
    );
  }

  function tokenExpiry(token) {
    try {
      const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      const claims = JSON.parse(window.atob(payload));
      return typeof claims.exp === "number" ? claims.exp : 0;
    } catch (error) {
      return 0;
    }
  }

  /*
   * Answers contextToken(forceFresh): a cached context token, fetched once at a time from the host.
   * failure(code) makes the page's error for "no_host", "host_timeout", "host_error" or "no_token".
   */
  function contextTokens(failure) {
    const cache = { token: "", exp: 0, pending: null };
    return function contextToken(forceFresh) {
      const now = Date.now() / 1000;
      if (!forceFresh && cache.token && now < cache.exp - TOKEN_MARGIN_S) {
        return Promise.resolve(cache.token);
      }
      if (!hostAvailable()) {
        return Promise.reject(failure("no_host"));
      }
      if (!cache.pending) {
        cache.pending = askHost(function (done) {
          window.AP.context.getToken(done);
        }, failure)
          .then(function (token) {
            if (typeof token !== "string" || !token) {
              throw failure("no_token");
            }
            cache.token = token;
            cache.exp = tokenExpiry(token);
            return token;
          })
          .finally(function () {
            cache.pending = null;
          });
      }
      return cache.pending;
    };
  }

  /*
   * Where the page was opened, once per page: {contentId, spaceKey, locale}. A Connect page has the ids in its
   * markup (views/modules.py puts them there) and asks AP for the locale; Forge tells all three in its context.
   * The locale falls back to the page's own (data-locale). Never rejects: without a host the ids are empty.
   */
  let contextOnce = null;

  function pageContext() {
    if (!contextOnce) {
      contextOnce = readContext();
    }
    return contextOnce;
  }

  async function readContext() {
    const root = document.querySelector("[data-api-base]");
    const data = root ? root.dataset : {};
    const pageLocale = data.locale || "";
    const forge = forgeHost();
    if (!forge) {
      const locale = await hostLocale();
      return { contentId: data.contentId || "", spaceKey: data.spaceKey || "", locale: locale || pageLocale };
    }
    let found = null;
    try {
      found = await withinHostTime(forge.context(), function () {
        return new PagemailError("");
      });
    } catch (error) {
      found = null;
    }
    const context = found && typeof found === "object" ? found : {};
    return {
      contentId: typeof context.contentId === "string" ? context.contentId : "",
      spaceKey: typeof context.spaceKey === "string" ? context.spaceKey : "",
      locale: (typeof context.locale === "string" && context.locale) || pageLocale,
    };
  }

  // Shows a Confluence flag; false when there is no host to show it.
  function flag(type, title, body) {
    const forge = forgeHost();
    if (forge) {
      try {
        return forge.flag(type, title, body || "") !== false;
      } catch (error) {
        return false;
      }
    }
    if (hostAvailable() && window.AP.flag && typeof window.AP.flag.create === "function") {
      window.AP.flag.create({ title: title, body: body || "", type: type, close: "auto" });
      return true;
    }
    return false;
  }

  // Closes the dialog the page is in (the host removes the iframe); nothing happens without a host.
  function closeDialog() {
    const forge = forgeHost();
    if (forge) {
      // A view Forge can't close (a settings page) says so by a rejection: nothing to do then.
      Promise.resolve()
        .then(function () {
          return forge.close();
        })
        .catch(function () {});
      return;
    }
    if (hostAvailable() && window.AP.dialog && typeof window.AP.dialog.close === "function") {
      window.AP.dialog.close();
    }
  }

  /* ------------------------------------------------------------------- the API */

  function isAbort(error) {
    return !!error && error.name === "AbortError";
  }

  function abortError() {
    return new DOMException("The request was aborted.", "AbortError");
  }

  // The promise, or an AbortError as soon as the signal fires (what fetch does; the Forge bridge can't cancel).
  function abortable(promise, signal) {
    if (!signal) {
      return promise;
    }
    if (signal.aborted) {
      return Promise.reject(abortError());
    }
    return new Promise(function (resolve, reject) {
      function aborted() {
        reject(abortError());
      }
      signal.addEventListener("abort", aborted, { once: true });
      promise.then(resolve, reject).finally(function () {
        signal.removeEventListener("abort", aborted);
      });
    });
  }

  /*
   * Answers api(method, path, body, signal): the JSON answer of base + path, or a rejection with an
   * ErrorClass (a PagemailError subclass) carrying the server's message, status, code and details.
   */
  function createApi(base, contextToken, ErrorClass) {
    // The server localizes its messages and the mail chrome by this (the user's Confluence locale).
    function localeHeader() {
      return { "X-Pagemail-Locale": i18n.locale };
    }

    function networkError() {
      return new ErrorClass(t("error.network"), 0, "network");
    }

    async function send(method, path, body, signal, token) {
      const options = {
        method: method,
        headers: Object.assign(
          { Authorization: "JWT " + token, "Content-Type": "application/json" },
          localeHeader()
        ),
        credentials: "omit",
        cache: "no-store",
        signal: signal,
      };
      if (body !== undefined && body !== null) {
        options.body = JSON.stringify(body);
      }
      try {
        return await window.fetch(base + path, options);
      } catch (error) {
        if (isAbort(error)) {
          throw error;
        }
        throw networkError();
      }
    }

    // Connect: fetch with the context token; {status, data} (data null when the answer is no JSON).
    async function viaFetch(method, path, body, signal) {
      let response = await send(method, path, body, signal, await contextToken(false));
      if (response.status === 401) {
        // The cached token may have expired early (clock skew): one retry with a fresh one.
        response = await send(method, path, body, signal, await contextToken(true));
      }
      let data = null;
      try {
        data = await response.json();
      } catch (error) {
        if (isAbort(error)) {
          throw error;
        }
      }
      return { status: response.status, data: data };
    }

    // Forge: the transport's request() (invokeRemote); the path is below /api there too.
    async function viaForge(forge, method, path, body, signal) {
      let answer;
      try {
        answer = await abortable(Promise.resolve(forge.request(method, path, body, localeHeader())), signal);
      } catch (error) {
        if (isAbort(error)) {
          throw error;
        }
        throw networkError();
      }
      if (!answer || typeof answer.status !== "number" || answer.status < 100) {
        throw networkError();
      }
      return { status: answer.status, data: answer.data === undefined ? null : answer.data };
    }

    return async function api(method, path, body, signal) {
      const forge = forgeHost();
      const answer = forge
        ? await viaForge(forge, method, path, body, signal)
        : await viaFetch(method, path, body, signal);
      const data = answer.data;
      if (answer.status < 200 || answer.status > 299) {
        const problem = data && typeof data.error === "object" && data.error ? data.error : {};
        const message = typeof problem.message === "string" && problem.message
          ? problem.message
          : t("error.http", { status: answer.status });
        throw new ErrorClass(message, answer.status, problem.code, problem.details);
      }
      if (!data || typeof data !== "object") {
        throw new ErrorClass(t("error.badAnswer"), answer.status, "bad_answer");
      }
      return data;
    };
  }

  /* ---------------------------------------------------- the section message */

  /*
   * The page's message box (the send dialog's and the admin pages' #message, an admin section's #NAME-message):
   * `node` holds .section-message-icon, .section-message-title, .section-message-body and .section-message-list.
   * show(kind, title, body, items) fills and shows it as a "section-message-KIND"; each page draws its icons its
   * own way, so `drawIcon(kind)` answers the icon's node. addItem(text, className) adds a line to the list on
   * show; `list` is that list, for a line the page builds itself.
   */
  function messageBox(node, drawIcon) {
    const parts = {
      icon: node.querySelector(".section-message-icon"),
      title: node.querySelector(".section-message-title"),
      body: node.querySelector(".section-message-body"),
      list: node.querySelector(".section-message-list"),
    };
    return {
      list: parts.list,
      show: function (kind, title, body, items) {
        node.className = "section-message section-message-" + kind;
        parts.icon.textContent = "";
        parts.icon.appendChild(drawIcon(kind));
        parts.title.textContent = title;
        parts.body.textContent = body || "";
        parts.body.hidden = !body;
        parts.list.textContent = "";
        (items || []).forEach(function (item) {
          parts.list.appendChild(element("li", "", item));
        });
        parts.list.hidden = !items || !items.length;
        node.hidden = false;
        node.scrollIntoView({ block: "nearest" });
      },
      addItem: function (text, className) {
        parts.list.hidden = false;
        parts.list.appendChild(element("li", className || "", text));
      },
      hide: function () {
        node.hidden = true;
      },
      focus: function () {
        node.focus({ preventScroll: false });
      },
    };
  }

  /* ------------------------------------------------------------ the picker */

  // A search waits for this many characters, and for a pause in the typing this long.
  const MIN_QUERY_LENGTH = 2;
  const SEARCH_DELAY_MS = 250;

  // The button that takes a chip away; `name` is what the chip shows, `iconNode` the page's own drawing.
  function removeButton(name, iconNode, onRemove) {
    const label = t("picker.remove", { name: name });
    const remove = element("button", "chip-remove");
    remove.type = "button";
    remove.setAttribute("aria-label", label);
    remove.title = label;
    remove.appendChild(iconNode);
    remove.addEventListener("click", onRemove);
    return remove;
  }

  /*
   * A combobox with chips (the send dialog's To/Cc/Bcc, the admin pages' groups): it searches GET /api/recipients
   * as the user types, arrows move through the suggestions, Enter picks, Escape closes, Backspace in the empty box
   * removes the last chip, a click between the chips puts the caret in the input. The markup is the page's:
   * #NAME-field holding .picker, #NAME-input, #NAME-chips, #NAME-popup (with .picker-status) and #NAME-listbox.
   *
   * What the pages do differently comes in `hooks`:
   *  api                the page's API function (createApi);
   *  found(data)        the items in a search answer;
   *  key(item)          what tells items apart;
   *  label(item)        the name the announcements and the remove button say;
   *  option(li, item)   fills a suggestion (the li already has its id, role and listeners);
   *  chip(item)         a chip without its remove button, which is added here; removeIcon() draws that button's icon;
   *  onChange()         a chip was added or removed by the user;
   * and, optional:
   *  taken(item)        whether a suggestion is left out as already chosen (default: a chip here has its key);
   *  accept(item)       whether a picked suggestion may be added now (default: yes);
   *  nothingFound(found) the status when a search leaves no suggestion (default: "picker.noMatches");
   *  text(query)        the typed text changed (or was cleared here); true when the page has shown what it means;
   *  enter()            Enter with no active suggestion (the page may choose(0), or pickFirstWhenFound());
   *  removed(item)      after a chip went;
   *  blur()             after the input lost the focus (and the suggestions closed);
   *  ownEscape          Escape stays here while it has something to undo: the suggestions, then the typed text
   *                     (in a dialog, where Escape on the document closes the dialog).
   */
  function picker(name, hooks) {
    const field = byId(name + "-field");
    const box = field.querySelector(".picker");
    const input = byId(name + "-input");
    const chips = byId(name + "-chips");
    const popup = byId(name + "-popup");
    const listbox = byId(name + "-listbox");
    const status = popup.querySelector(".picker-status");
    let chosen = [];
    let options = [];
    let statusText = "";
    let active = -1;
    let timer = 0;
    let controller = null;
    let pickFirst = false; // Enter came before the suggestions: take the first one when they arrive
    let disabled = false;

    function has(key) {
      return chosen.some(function (item) {
        return hooks.key(item) === key;
      });
    }

    function taken(item) {
      return hooks.taken ? hooks.taken(item) : has(hooks.key(item));
    }

    function isOpen() {
      return !popup.hidden;
    }

    function open() {
      if (!options.length && !statusText) {
        close();
        return;
      }
      popup.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      popup.hidden = true;
      input.setAttribute("aria-expanded", "false");
      setActive(-1);
    }

    function setActive(index) {
      active = index;
      Array.prototype.forEach.call(listbox.children, function (option, position) {
        option.setAttribute("aria-selected", position === index ? "true" : "false");
      });
      const current = index >= 0 ? listbox.children[index] : null;
      if (current) {
        input.setAttribute("aria-activedescendant", current.id);
        current.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function renderOption(item, index) {
      const option = element("li", "picker-option");
      option.id = name + "-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      hooks.option(option, item);
      // mousedown would blur the input (and close the list) before the click lands.
      option.addEventListener("mousedown", function (event) {
        event.preventDefault();
      });
      option.addEventListener("click", function () {
        choose(index);
      });
      option.addEventListener("mousemove", function () {
        if (active !== index) {
          setActive(index);
        }
      });
      return option;
    }

    // The suggestions (those not chosen yet) and a status line; the popup shows them while the input has the focus.
    function showOptions(list, text) {
      options = list.filter(function (item) {
        return !taken(item);
      });
      statusText = text || "";
      listbox.textContent = "";
      options.forEach(function (item, index) {
        listbox.appendChild(renderOption(item, index));
      });
      listbox.hidden = !options.length;
      status.textContent = statusText;
      status.hidden = !statusText;
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (document.activeElement === input) {
        open();
      }
    }

    function renderChips() {
      chips.textContent = "";
      chosen.forEach(function (item, index) {
        const chip = hooks.chip(item);
        const remove = removeButton(hooks.label(item), hooks.removeIcon(), function () {
          removeAt(index);
          input.focus();
        });
        remove.disabled = disabled;
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      chips.hidden = !chosen.length;
    }

    function cancelSearch() {
      window.clearTimeout(timer);
      timer = 0;
      pickFirst = false;
      if (controller) {
        controller.abort();
        controller = null;
      }
    }

    async function search(query) {
      const mine = new AbortController();
      controller = mine;
      try {
        const data = await hooks.api("GET", "/recipients?query=" + encodeURIComponent(query), null, mine.signal);
        if (controller !== mine) {
          return;
        }
        controller = null;
        const found = hooks.found(data);
        showOptions(found, "");
        if (!options.length) {
          showOptions([], hooks.nothingFound ? hooks.nothingFound(found) : t("picker.noMatches"));
        }
        announce(t("picker.results", { count: options.length }));
        if (pickFirst && options.length) {
          choose(0);
        }
      } catch (error) {
        if (isAbort(error) || controller !== mine) {
          return;
        }
        controller = null;
        showOptions([], t("picker.searchFailed", { message: error.message }));
      } finally {
        if (controller === null) {
          pickFirst = false;
        }
      }
    }

    function onInput() {
      const query = input.value.trim();
      cancelSearch();
      if (hooks.text && hooks.text(query)) {
        return;
      }
      if (!query) {
        showOptions([], "");
        close();
        return;
      }
      if (query.length < MIN_QUERY_LENGTH) {
        showOptions([], t("picker.typeMore"));
        return;
      }
      showOptions([], t("picker.searching"));
      timer = window.setTimeout(function () {
        timer = 0;
        search(query);
      }, SEARCH_DELAY_MS);
    }

    function removeAt(index) {
      const removed = chosen.splice(index, 1)[0];
      if (!removed) {
        return;
      }
      renderChips();
      if (hooks.removed) {
        hooks.removed(removed);
      }
      announce(t("picker.removed", { name: hooks.label(removed) }));
      hooks.onChange();
    }

    function choose(index) {
      const item = options[index];
      if (!item) {
        return;
      }
      cancelSearch();
      if (!hooks.accept || hooks.accept(item)) {
        chosen.push(item);
        renderChips();
        announce(t("picker.added", { name: hooks.label(item) }));
        hooks.onChange();
      }
      input.value = "";
      if (hooks.text) {
        hooks.text("");
      }
      showOptions([], "");
      close();
      input.focus();
    }

    function move(step) {
      if (!isOpen()) {
        open();
      }
      if (!options.length) {
        return;
      }
      if (active < 0) {
        setActive(step > 0 ? 0 : options.length - 1);
      } else {
        setActive((active + step + options.length) % options.length);
      }
    }

    function onEscape(event) {
      if (isOpen()) {
        event.preventDefault();
        if (hooks.ownEscape) {
          event.stopPropagation();
        }
        close();
      } else if (hooks.ownEscape && input.value) {
        event.preventDefault();
        event.stopPropagation();
        input.value = "";
        onInput();
      }
    }

    input.addEventListener("input", onInput);
    input.addEventListener("keydown", function (event) {
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          move(1);
          break;
        case "ArrowUp":
          event.preventDefault();
          move(-1);
          break;
        case "Enter":
          // Enter picks a suggestion; it never submits the form from here.
          event.preventDefault();
          if (isOpen() && active >= 0) {
            choose(active);
          } else if (hooks.enter) {
            hooks.enter();
          }
          break;
        case "Escape":
          onEscape(event);
          break;
        case "Backspace":
          if (!input.value && chosen.length) {
            event.preventDefault();
            removeAt(chosen.length - 1);
          }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });
    input.addEventListener("focus", function () {
      if (input.value.trim()) {
        open();
      }
    });
    input.addEventListener("blur", function () {
      close();
      if (hooks.blur) {
        hooks.blur();
      }
    });
    popup.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    // A click between the chips puts the caret in the input, like a text field.
    box.addEventListener("click", function (event) {
      if (!disabled && (event.target === box || event.target === chips)) {
        input.focus();
      }
    });

    return {
      input: input,
      isOpen: isOpen,
      close: close,
      showOptions: showOptions,
      // How many suggestions there are (shown or not).
      optionCount: function () {
        return options.length;
      },
      choose: choose,
      // Whether a search is waiting for the typing to pause or for its answer.
      searching: function () {
        return !!(timer || controller);
      },
      pickFirstWhenFound: function () {
        pickFirst = true;
      },
      cancel: cancelSearch,
      has: has,
      items: function () {
        return chosen.slice();
      },
      // Replaces the chips (as loaded), without telling onChange.
      set: function (items) {
        chosen = items.slice();
        renderChips();
      },
      // Adds these chips at once (a typed or pasted list), without announcing or telling onChange.
      append: function (items) {
        Array.prototype.push.apply(chosen, items);
        if (items.length) {
          renderChips();
        }
      },
      render: renderChips,
      setDisabled: function (value) {
        disabled = !!value;
        input.disabled = disabled;
        // A search hint on a box that can't be used would be an invitation that leads nowhere.
        if (!input.dataset.placeholder) {
          input.dataset.placeholder = input.getAttribute("placeholder") || "";
        }
        input.setAttribute("placeholder", disabled ? "" : input.dataset.placeholder);
        box.classList.toggle("is-disabled", disabled);
        if (disabled) {
          cancelSearch();
          close();
        }
        renderChips();
      },
      focus: function () {
        input.focus();
      },
    };
  }

  window.pagemail = Object.freeze({
    byId: byId,
    element: element,
    announce: announce,
    i18n: i18n,
    t: t,
    useLanguage: useLanguage,
    translatePage: translatePage,
    PagemailError: PagemailError,
    hostAvailable: hostAvailable,
    askHost: askHost,
    hostLocale: hostLocale,
    pageContext: pageContext,
    contextTokens: contextTokens,
    flag: flag,
    closeDialog: closeDialog,
    isAbort: isAbort,
    createApi: createApi,
    messageBox: messageBox,
    removeButton: removeButton,
    picker: picker,
  });
})();
