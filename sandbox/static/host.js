/*
 * The host side of the AP bridge, as the sandbox's Confluence pages run it.
 *
 * App iframes talk to this page with postMessage ({type: "ap-request", id, method, args}); a message is
 * only answered when it comes from the installed app's origin AND from an iframe this page created.
 * Answers go back as {type: "ap-response", id, result | error}; events as {type: "ap-event", name, data}.
 * Also here: the page's "•••" menu, which opens the app's dialog module in a modal, and the site's flags (the
 * Forge app's bridge, static/forge_host.js, shows its flags through window.SandboxHost too).
 */
(function () {
  "use strict";

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : "";
  }

  var appOrigin = meta("sandbox-app-origin");
  var currentUser = meta("sandbox-user");
  var userLocale = meta("sandbox-locale");
  var frames = [];
  var flagCount = 0;

  function register(iframe, kind, context) {
    var frame = { iframe: iframe, kind: kind, context: context || {} };
    frames.push(frame);
    return frame;
  }

  function unregister(frame) {
    frames = frames.filter(function (item) { return item !== frame; });
  }

  function frameFor(source) {
    for (var i = 0; i < frames.length; i += 1) {
      if (frames[i].iframe.contentWindow === source) { return frames[i]; }
    }
    return null;
  }

  function post(frame, message) {
    if (frame.iframe.contentWindow) { frame.iframe.contentWindow.postMessage(message, appOrigin); }
  }

  function broadcast(name, data, except) {
    frames.forEach(function (frame) {
      if (frame !== except) { post(frame, { type: "ap-event", name: name, data: data }); }
    });
  }

  function fetchContext(frame) {
    var params = new URLSearchParams({
      user: currentUser,
      contentId: frame.context.contentId || "",
      spaceKey: frame.context.spaceKey || ""
    });
    return fetch("/_sandbox/context-token?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { throw new Error("context token refused (HTTP " + response.status + ")"); }
        return response.json();
      });
  }

  // -- modal dialogs -------------------------------------------------------------------------------
  var modal = document.querySelector("[data-ap-modal]");
  var dialogFrame = null;

  function closeDialog(data) {
    if (!modal || !dialogFrame) { return; }
    var closing = dialogFrame;
    dialogFrame = null;
    unregister(closing);
    modal.querySelector("[data-ap-modal-body]").textContent = "";
    modal.hidden = true;
    broadcast("dialog.close", data === undefined ? null : data, closing);
  }

  function openDialog(button) {
    if (!modal) { return; }
    var params = new URLSearchParams({
      module: button.getAttribute("data-ap-webitem"),
      user: currentUser,
      contentId: button.getAttribute("data-content-id") || "",
      spaceKey: button.getAttribute("data-space-key") || ""
    });
    fetch("/_sandbox/module-url?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (answer) {
        if (!answer.ok) { throw new Error(answer.body.error || "could not open the dialog"); }
        var box = modal.querySelector(".modal");
        var body = modal.querySelector("[data-ap-modal-body]");
        box.style.width = answer.body.width;
        box.style.height = answer.body.height;
        modal.querySelector("[data-ap-modal-header]").hidden = !answer.body.chrome;
        modal.querySelector("[data-ap-modal-title]").textContent = answer.body.title || button.textContent;
        body.textContent = "";
        var iframe = document.createElement("iframe");
        iframe.title = answer.body.title || "App dialog";
        dialogFrame = register(iframe, "dialog", {
          contentId: button.getAttribute("data-content-id") || "",
          spaceKey: button.getAttribute("data-space-key") || ""
        });
        iframe.src = answer.body.url;
        body.appendChild(iframe);
        modal.hidden = false;
      })
      .catch(function (error) { showFlag({ title: "Could not open the app", body: String(error.message), type: "error" }); });
  }

  // -- flags -----------------------------------------------------------------------------------------
  function showFlag(options, id) {
    var container = document.getElementById("ap-flags");
    var flagId = String(id || "host-flag-" + (flagCount += 1));
    var flag = document.createElement("div");
    var type = ["info", "success", "warning", "error"].indexOf(options.type) >= 0 ? options.type : "info";
    flag.className = "flag " + type;
    flag.setAttribute("data-flag-id", flagId);
    flag.setAttribute("role", type === "error" ? "alert" : "status");
    var title = document.createElement("p");
    title.className = "flag-title";
    title.textContent = options.title || "";
    var body = document.createElement("p");
    body.className = "flag-body";
    body.textContent = options.body || "";  // text only: the host never renders app-supplied HTML
    var close = document.createElement("button");
    close.className = "flag-close";
    close.type = "button";
    close.textContent = "✕";
    close.addEventListener("click", function () { closeFlag(flagId); });
    flag.appendChild(title);
    flag.appendChild(body);
    flag.appendChild(close);
    container.appendChild(flag);
    if (options.close === "auto") { window.setTimeout(function () { closeFlag(flagId); }, 5000); }
    return flagId;
  }

  function closeFlag(flagId) {
    var flag = document.querySelector('[data-flag-id="' + String(flagId).replace(/"/g, "") + '"]');
    if (flag) { flag.remove(); broadcast("flag.close", { flagIdentifier: flagId }); }
  }

  // -- the AP methods --------------------------------------------------------------------------------
  function size(value) {
    if (typeof value === "number") { return value + "px"; }
    return /^\d+(\.\d+)?(px|%|vh|em)?$/.test(String(value)) ? (/\d$/.test(String(value)) ? value + "px" : String(value)) : null;
  }

  var handlers = {
    "context.getToken": function (frame) { return fetchContext(frame).then(function (data) { return data.token; }); },
    "context.getContext": function (frame) { return fetchContext(frame).then(function (data) { return data.context; }); },
    "dialog.close": function (frame, args) { if (frame.kind === "dialog") { closeDialog(args[0]); } return null; },
    "resize": function (frame, args) {
      if (frame.kind === "dialog") { return null; }  // dialogs keep the size the module asked for
      var width = size(args[0]);
      var height = size(args[1]);
      if (width) { frame.iframe.style.width = width; }
      if (height) { frame.iframe.style.height = height; }
      return null;
    },
    "sizeToParent": function (frame) {
      if (frame.kind !== "dialog") {
        frame.iframe.style.width = "100%";
        frame.iframe.style.height = Math.max(200, window.innerHeight - frame.iframe.getBoundingClientRect().top - 16) + "px";
      }
      return null;
    },
    "flag.create": function (frame, args) { return showFlag(args[0] || {}, args[1]); },
    "flag.close": function (frame, args) { closeFlag(args[0]); return null; },
    "user.getLocale": function () { return userLocale; },
    "user.getCurrentUser": function () { return { atlassianAccountId: currentUser }; },
    "navigator.reload": function () { window.location.reload(); return null; },
    "navigator.go": function (frame, args) {
      var target = args[0];
      var context = args[1] || {};
      if ((target === "contentview" || target === "contentedit") && context.contentId) {
        window.location.href = "/wiki/pages/viewpage.action?pageId=" + encodeURIComponent(context.contentId);
      } else if (target === "spaceview" && context.spaceKey) {
        window.location.href = "/wiki/spaces/" + encodeURIComponent(context.spaceKey);
      } else {
        window.location.href = "/wiki/";
      }
      return null;
    }
  };

  window.addEventListener("message", function (event) {
    if (!appOrigin || event.origin !== appOrigin) { return; }
    var frame = frameFor(event.source);
    var message = event.data;
    if (!frame || !message || message.type !== "ap-request" || typeof message.method !== "string") { return; }
    var handler = Object.prototype.hasOwnProperty.call(handlers, message.method) ? handlers[message.method] : null;
    if (!handler) {
      post(frame, { type: "ap-response", id: message.id, error: "Unsupported AP method: " + message.method });
      return;
    }
    Promise.resolve()
      .then(function () { return handler(frame, Array.isArray(message.args) ? message.args : []); })
      .then(function (result) {
        post(frame, { type: "ap-response", id: message.id, result: result === undefined ? null : result });
      }, function (error) {
        post(frame, { type: "ap-response", id: message.id, error: String((error && error.message) || error) });
      });
  });

  // -- wiring ----------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-ap-menu-toggle]");
    var menu = document.querySelector("[data-ap-menu]");
    if (toggle && menu) {
      menu.hidden = !menu.hidden;
      toggle.setAttribute("aria-expanded", String(!menu.hidden));
      return;
    }
    var item = event.target.closest("[data-ap-webitem]");
    if (item) {
      if (menu) { menu.hidden = true; }
      openDialog(item);
      return;
    }
    if (event.target.closest("[data-ap-modal-close]")) { closeDialog(null); return; }
    if (menu && !event.target.closest("[data-ap-menu]")) { menu.hidden = true; }
    var expander = event.target.closest(".expand-control");
    if (expander && expander.parentElement) {
      var content = expander.parentElement.querySelector(".expand-content");
      if (content) { content.classList.toggle("expand-hidden"); content.hidden = content.classList.contains("expand-hidden"); }
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && dialogFrame) { closeDialog(null); }
  });

  document.querySelectorAll(".expand-content.expand-hidden").forEach(function (content) { content.hidden = true; });

  var autosubmit = document.querySelector("[data-autosubmit]");
  if (autosubmit) { autosubmit.addEventListener("change", function () { autosubmit.form.submit(); }); }

  document.querySelectorAll("iframe[data-ap-frame]").forEach(function (iframe) {
    register(iframe, "page", {
      contentId: iframe.getAttribute("data-content-id") || "",
      spaceKey: iframe.getAttribute("data-space-key") || ""
    });
  });

  // static/forge_host.js (the Forge app's bridge) shows its flags through these, in the same place.
  window.SandboxHost = {
    frames: function () { return frames.slice(); },
    dialogOpen: function () { return Boolean(dialogFrame); },
    showFlag: showFlag,
    closeFlag: closeFlag
  };
}());
