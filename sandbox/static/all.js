/*
 * A small stand-in for Atlassian Connect's all.js: window.AP with the same method names and calling
 * conventions (callback and/or Promise) for the calls pagemail uses. It talks to the host page with
 * postMessage, only to the origin named by the `xdm_e` parameter of this iframe's own URL, and only
 * listens to messages from that origin and the parent window.
 */
(function () {
  "use strict";
  if (window.AP) { return; }

  var query = new URLSearchParams(window.location.search);
  var hostOrigin = query.get("xdm_e") || "";
  var pending = {};
  var listeners = {};
  var counter = 0;

  function send(method, args) {
    return new Promise(function (resolve, reject) {
      if (!hostOrigin || window.parent === window) {
        reject(new Error("AP: not running inside a host page (no xdm_e)"));
        return;
      }
      counter += 1;
      var id = "ap-" + counter + "-" + Date.now();
      pending[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage({ type: "ap-request", id: id, method: method, args: args || [] }, hostOrigin);
    });
  }

  function quietly(promise) {
    promise.catch(function (error) { if (window.console) { window.console.warn(error); } });
    return promise;
  }

  function withCallback(promise, callback) {
    if (typeof callback === "function") {
      promise.then(function (value) { callback(value); }, function (error) {
        if (window.console) { window.console.error(error); }
      });
    }
    return promise;
  }

  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || event.origin !== hostOrigin) { return; }
    var message = event.data || {};
    if (message.type === "ap-response" && Object.prototype.hasOwnProperty.call(pending, message.id)) {
      var waiting = pending[message.id];
      delete pending[message.id];
      if (message.error) { waiting.reject(new Error(message.error)); } else { waiting.resolve(message.result); }
    } else if (message.type === "ap-event") {
      (listeners[message.name] || []).slice().forEach(function (listener) { listener(message.data); });
    }
  });

  function on(name, listener) {
    (listeners[name] = listeners[name] || []).push(listener);
  }

  function off(name, listener) {
    listeners[name] = (listeners[name] || []).filter(function (item) { return item !== listener; });
  }

  var flagCount = 0;

  window.AP = {
    context: {
      getToken: function (callback) { return withCallback(send("context.getToken"), callback); },
      getContext: function (callback) { return withCallback(send("context.getContext"), callback); }
    },
    dialog: {
      close: function (data) { return quietly(send("dialog.close", [data === undefined ? null : data])); }
    },
    flag: {
      create: function (options) {
        flagCount += 1;
        var id = "flag-" + flagCount + "-" + Date.now();
        quietly(send("flag.create", [options || {}, id]));
        return { _id: id, close: function () { return quietly(send("flag.close", [id])); } };
      }
    },
    resize: function (width, height) { return quietly(send("resize", [width, height])); },
    sizeToParent: function () { return quietly(send("sizeToParent", [])); },
    user: {
      getLocale: function (callback) { return withCallback(send("user.getLocale"), callback); },
      getCurrentUser: function (callback) { return withCallback(send("user.getCurrentUser"), callback); }
    },
    navigator: {
      go: function (target, context) { return quietly(send("navigator.go", [target, context || {}])); },
      reload: function () { return quietly(send("navigator.reload", [])); }
    },
    events: {
      on: on,
      off: off,
      once: function (name, listener) {
        var wrapper = function (data) { off(name, wrapper); listener(data); };
        on(name, wrapper);
      }
    }
  };

  // Like all.js, keep the iframe as tall as its content unless the script tag says data-options="resize:false".
  var script = document.currentScript;
  var options = script ? script.getAttribute("data-options") || "" : "";
  if (options.indexOf("resize:false") < 0 && window.ResizeObserver && hostOrigin && window.parent !== window) {
    var lastHeight = 0;
    var observer = new window.ResizeObserver(function () {
      var height = Math.ceil(document.documentElement.scrollHeight);
      if (height !== lastHeight) {
        lastHeight = height;
        window.AP.resize("100%", height + "px");
      }
    });
    var start = function () { observer.observe(document.documentElement); };
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
  }
}());
