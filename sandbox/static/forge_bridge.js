/*
 * The iframe side of the Forge bridge, as the platform puts it first into every Custom UI page it hosts
 * (sandbox/forge_cdn.py): window.__bridge.callBridge(name, payload) → Promise, which is all @forge/bridge needs of
 * its host. It asks the page around the iframe (static/forge_host.js) with postMessage, only to the site's origin
 * (the data-host-origin of this script's tag), and takes answers only from the parent window at that origin.
 * It also tells the host the page's height, so a settings page's iframe grows with its content (Forge sizes its
 * Custom UI iframes to their content the same way).
 */
(function () {
  "use strict";
  if (window.__bridge) { return; }

  var script = document.currentScript;
  var hostOrigin = script ? script.getAttribute("data-host-origin") || "" : "";
  var framed = window.parent !== window;
  var pending = {};
  var counter = 0;

  function callBridge(name, payload) {
    return new Promise(function (resolve, reject) {
      if (!hostOrigin || !framed) {
        reject(new Error("Forge bridge: not running inside a Forge host page"));
        return;
      }
      counter += 1;
      var id = "forge-" + counter + "-" + Date.now();
      pending[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage(
        { type: "forge-bridge-request", id: id, name: String(name), payload: payload === undefined ? null : payload },
        hostOrigin
      );
    });
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== hostOrigin) { return; }
    var message = event.data || {};
    if (message.type !== "forge-bridge-response" || !Object.prototype.hasOwnProperty.call(pending, message.id)) {
      return;
    }
    var waiting = pending[message.id];
    delete pending[message.id];
    if (message.error) { waiting.reject(new Error(message.error)); } else { waiting.resolve(message.result); }
  });

  Object.defineProperty(window, "__bridge", {
    value: Object.freeze({ callBridge: callBridge }),
    writable: false,
    configurable: false
  });

  if (framed && hostOrigin && window.ResizeObserver) {
    var lastHeight = 0;
    var observer = new window.ResizeObserver(function () {
      var height = Math.ceil(document.documentElement.scrollHeight);
      if (height !== lastHeight) {
        lastHeight = height;
        window.parent.postMessage({ type: "forge-bridge-resize", height: height }, hostOrigin);
      }
    });
    observer.observe(document.documentElement);
  }
}());
