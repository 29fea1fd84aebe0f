/*
 * The host side of the Forge bridge, as the sandbox's Confluence pages run it for the Forge app's Custom UI (the
 * Connect app's AP bridge is host.js). Custom UI iframes come from Forge's CDN (another origin, see
 * sandbox/forge_cdn.py) and call window.__bridge.callBridge(name, payload), which the platform's script in them
 * (forge_bridge.js) posts here as {type: "forge-bridge-request", id, name, payload}; the answer goes back as
 * {type: "forge-bridge-response", id, result | error}. A message is answered only when it comes from the CDN's
 * origin AND from an iframe this page made for a Forge module (each knows its module and context):
 *   getContext          the context the site gave the frame (sandbox/forge_host.py: user, module, page or space)
 *   invoke              invokeRemote: POST /wiki/forge/invoke, where the platform calls the remote with a fresh
 *                       invocation token and the user/system tokens (never seen by the browser)
 *   close               closes the dialog; false for a settings page (@forge/bridge: "not closable")
 *   showFlag, closeFlag the site's flags (drawn by host.js)
 * Also here: the Forge entries of the page's "•••" menu, which open the module in a modal.
 */
(function () {
  "use strict";

  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : "";
  }

  var cdnOrigin = meta("sandbox-forge-cdn-origin");
  // The iframe permissions Forge gives every Custom UI iframe (developer.atlassian.com: Custom UI iframe).
  var SANDBOX = "allow-downloads allow-forms allow-modals allow-pointer-lock allow-same-origin allow-scripts";
  var frames = [];
  var modal = document.querySelector("[data-forge-modal]");
  var dialogFrame = null;

  function register(iframe, kind, description) {
    var frame = {
      iframe: iframe,
      kind: kind,
      module: description.module,
      contentId: description.contentId || "",
      spaceKey: description.spaceKey || "",
      context: description.context || {}
    };
    frames.push(frame);
    return frame;
  }

  function frameFor(source) {
    for (var i = 0; i < frames.length; i += 1) {
      if (frames[i].iframe.contentWindow === source) { return frames[i]; }
    }
    return null;
  }

  function post(frame, message) {
    if (frame.iframe.contentWindow) { frame.iframe.contentWindow.postMessage(message, cdnOrigin); }
  }

  function showFlag(options, id) {
    if (window.SandboxHost && window.SandboxHost.showFlag) { return window.SandboxHost.showFlag(options, id); }
    return null;
  }

  // -- the dialog a "•••" entry opens ------------------------------------------------------------------
  function closeDialog() {
    if (!modal || !dialogFrame) { return; }
    var closing = dialogFrame;
    dialogFrame = null;
    frames = frames.filter(function (item) { return item !== closing; });
    modal.querySelector("[data-forge-modal-body]").textContent = "";
    modal.hidden = true;
  }

  function openDialog(button) {
    if (!modal) { return; }
    var params = new URLSearchParams({
      module: button.getAttribute("data-forge-action"),
      contentId: button.getAttribute("data-content-id") || "",
      spaceKey: button.getAttribute("data-space-key") || ""
    });
    fetch("/wiki/forge/frame?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (body) { return { ok: response.ok, body: body }; }); })
      .then(function (answer) {
        if (!answer.ok) { throw new Error(answer.body.error || "could not open the app"); }
        var description = answer.body;
        var box = modal.querySelector(".modal");
        var body = modal.querySelector("[data-forge-modal-body]");
        box.style.width = description.width;
        box.style.height = description.height;
        body.textContent = "";
        var iframe = document.createElement("iframe");
        iframe.title = description.title || "Forge app";
        iframe.setAttribute("sandbox", SANDBOX);
        dialogFrame = register(iframe, "dialog", description);
        iframe.src = description.url;
        body.appendChild(iframe);
        modal.hidden = false;
      })
      .catch(function (error) { showFlag({ title: "Could not open the app", body: String(error.message), type: "error" }); });
  }

  // -- the bridge calls --------------------------------------------------------------------------------
  function invoke(frame, payload) {
    if (!payload || payload.invokeType !== "ui-remote-fetch") {
      throw new Error("The sandbox's Forge host runs invokeRemote only (invokeType ui-remote-fetch)");
    }
    return fetch("/wiki/forge/invoke", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        module: frame.module,
        contentId: frame.contentId,
        spaceKey: frame.spaceKey,
        call: { path: payload.path, method: payload.method, headers: payload.headers || {}, body: payload.body }
      })
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) { throw new Error(answer.error || "invokeRemote failed (HTTP " + response.status + ")"); }
        return answer;
      });
    });
  }

  var handlers = {
    getContext: function (frame) { return frame.context; },
    invoke: invoke,
    close: function (frame) {
      if (frame.kind !== "dialog") { return false; }
      closeDialog();
      return true;
    },
    showFlag: function (frame, payload) {
      var options = payload || {};
      showFlag({
        title: options.title || "",
        body: options.description || "",
        type: options.type,
        close: options.isAutoDismiss ? "auto" : "manual"
      }, "forge-" + String(options.id || ""));
      return null;
    },
    closeFlag: function (frame, payload) {
      if (window.SandboxHost && window.SandboxHost.closeFlag) {
        window.SandboxHost.closeFlag("forge-" + String((payload || {}).id || ""));
      }
      return null;
    }
  };

  function resize(frame, height) {
    if (frame.kind === "dialog" || typeof height !== "number" || !(height > 0)) { return; }
    frame.iframe.style.height = Math.max(200, Math.ceil(height)) + "px";
  }

  window.addEventListener("message", function (event) {
    if (!cdnOrigin || event.origin !== cdnOrigin) { return; }
    var frame = frameFor(event.source);
    var message = event.data;
    if (!frame || !message) { return; }
    if (message.type === "forge-bridge-resize") { resize(frame, message.height); return; }
    if (message.type !== "forge-bridge-request" || typeof message.name !== "string") { return; }
    var handler = Object.prototype.hasOwnProperty.call(handlers, message.name) ? handlers[message.name] : null;
    if (!handler) {
      post(frame, { type: "forge-bridge-response", id: message.id, error: "Unsupported bridge call: " + message.name });
      return;
    }
    Promise.resolve()
      .then(function () { return handler(frame, message.payload); })
      .then(function (result) {
        post(frame, { type: "forge-bridge-response", id: message.id, result: result === undefined ? null : result });
      }, function (error) {
        post(frame, { type: "forge-bridge-response", id: message.id, error: String((error && error.message) || error) });
      });
  });

  // -- wiring ------------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var item = event.target.closest("[data-forge-action]");
    if (item) {
      var menu = document.querySelector("[data-ap-menu]");
      if (menu) { menu.hidden = true; }
      openDialog(item);
      return;
    }
    if (event.target.closest("[data-forge-modal-close]")) { closeDialog(); }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && dialogFrame) { closeDialog(); }
  });

  document.querySelectorAll("iframe[data-forge-frame]").forEach(function (iframe) {
    var context = {};
    try { context = JSON.parse(iframe.getAttribute("data-forge-context") || "{}"); } catch (error) { context = {}; }
    register(iframe, "page", {
      module: iframe.getAttribute("data-module-key") || "",
      contentId: iframe.getAttribute("data-content-id") || "",
      spaceKey: iframe.getAttribute("data-space-key") || "",
      context: context
    });
  });

  window.SandboxForgeHost = {
    frames: function () { return frames.slice(); },
    dialogOpen: function () { return Boolean(dialogFrame); }
  };
}());
