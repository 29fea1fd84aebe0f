/*
 * What the send dialog (static/dialog.js) and the admin pages (static/admin.js, static/space.js) share: the
 * page's strings, the AP bridge (context tokens, locale, flags) and the JSON API client (DESIGN §7).
 * Published as window.pagemail; loaded before the page scripts. Each page has one set of strings and one
 * token cache, so both live here once per page.
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

  /* ------------------------------------------------------ the host (AP bridge) */

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

  function hostAvailable() {
    return typeof window.AP === "object" && window.AP !== null && !!window.AP.context;
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

  // Shows a Confluence flag; false when there is no host to show it.
  function flag(type, title, body) {
    if (hostAvailable() && window.AP.flag && typeof window.AP.flag.create === "function") {
      window.AP.flag.create({ title: title, body: body || "", type: type, close: "auto" });
      return true;
    }
    return false;
  }

  /* ------------------------------------------------------------------- the API */

  function isAbort(error) {
    return !!error && error.name === "AbortError";
  }

  /*
   * Answers api(method, path, body, signal): the JSON answer of base + path, or a rejection with an
   * ErrorClass (a PagemailError subclass) carrying the server's message, status, code and details.
   */
  function createApi(base, contextToken, ErrorClass) {
    async function send(method, path, body, signal, token) {
      const options = {
        method: method,
        headers: {
          Authorization: "JWT " + token,
          "Content-Type": "application/json",
          // The server localizes its messages and the mail chrome by this (the user's Confluence locale).
          "X-Pagemail-Locale": i18n.locale,
        },
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
        throw new ErrorClass(t("error.network"), 0, "network");
      }
    }

    return async function api(method, path, body, signal) {
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
      if (!response.ok) {
        const problem = data && typeof data.error === "object" && data.error ? data.error : {};
        const message = typeof problem.message === "string" && problem.message
          ? problem.message
          : t("error.http", { status: response.status });
        throw new ErrorClass(message, response.status, problem.code, problem.details);
      }
      if (!data || typeof data !== "object") {
        throw new ErrorClass(t("error.badAnswer"), response.status, "bad_answer");
      }
      return data;
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
    contextTokens: contextTokens,
    flag: flag,
    isAbort: isAbort,
    createApi: createApi,
  });
})();
