/*
 * The Forge transport of the page scripts: what pagemail.js asks of its host, answered by @forge/bridge instead of
 * Connect's AP. Bundled (esbuild) into each Custom UI resource as forge-host.js, loaded before pagemail.js, which
 * finds it as window.pagemailHost.
 *
 * The host interface (the Connect transport in pagemail.js answers the same):
 *   context()                       → Promise<{contentId, spaceKey, locale}>  where the page was opened
 *   locale()                        → Promise<string>                          the user's Confluence locale, or ""
 *   request(method, path, body, headers)
 *                                   → Promise<{status, data}>                  a call to the API below /api
 *   flag(type, title, body)         → boolean                                  a Confluence flag was shown
 *   close()                         → Promise<void>                            close the dialog (contentAction)
 *
 * invokeRemote adds the Forge Invocation Token and the app system/user tokens itself (manifest: endpoint
 * pagemail-api); so there is no token for the page to fetch, cache or renew.
 */
import { invokeRemote, showFlag, view } from "@forge/bridge";

const API_PREFIX = "/api";
const FLAG_TYPES = new Set(["success", "info", "warning", "error"]);

let contextOnce = null;
let flagCount = 0;

function forgeContext() {
  if (!contextOnce) {
    contextOnce = view.getContext();
  }
  return contextOnce;
}

function text(value) {
  return typeof value === "string" ? value : value === undefined || value === null ? "" : String(value);
}

async function context() {
  const found = (await forgeContext()) || {};
  const extension = found.extension || {};
  const content = extension.content || {};
  const space = extension.space || {};
  return {
    contentId: text(content.id),
    spaceKey: text(space.key),
    locale: text(found.locale),
  };
}

async function locale() {
  try {
    return (await context()).locale;
  } catch (error) {
    return "";
  }
}

async function request(method, path, body, headers) {
  const answer = await invokeRemote({
    path: API_PREFIX + path,
    method: method,
    headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
    body: body === undefined || body === null ? undefined : body,
  });
  const status = answer && typeof answer.status === "number" ? answer.status : 0;
  return { status: status, data: answer ? answer.body : null };
}

function flag(type, title, body) {
  flagCount += 1;
  showFlag({
    id: "pagemail-" + flagCount,
    title: text(title),
    description: text(body),
    type: FLAG_TYPES.has(type) ? type : "info",
    isAutoDismiss: true,
  });
  return true;
}

function close() {
  return view.close();
}

export const forgeHost = Object.freeze({
  kind: "forge",
  context: context,
  locale: locale,
  request: request,
  flag: flag,
  close: close,
});

if (typeof window !== "undefined") {
  window.pagemailHost = forgeHost;
}
