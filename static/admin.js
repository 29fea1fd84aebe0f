/*
 * The admin pages (DESIGN §1, API in §7). Two parts:
 *  - a small kit both admin pages share (on top of static/pagemail.js: messages, field errors, the group
 *    picker), published as window.pagemailAdminKit for static/space.js;
 *  - the global settings page, which runs only when #admin-settings is on the page.
 * Every piece of server data is written with textContent, never as HTML; the mail preview goes into a sandboxed
 * iframe through srcdoc.
 */
(function () {
  "use strict";

  const PREVIEW_DELAY_MS = 600;
  const MB = 1024 * 1024;
  const MAX_ATTACHMENT_MB = 50;
  const LOOSE_DOMAIN = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;

  // The shared page kit (static/pagemail.js): strings, the host (AP or Forge) and the JSON API.
  const pagemail = window.pagemail;
  const byId = pagemail.byId;
  const element = pagemail.element;
  const announce = pagemail.announce;
  const i18n = pagemail.i18n;
  const t = pagemail.t;
  const flag = pagemail.flag;
  const isAbort = pagemail.isAbort;

  /* ------------------------------------------------------------------ icons */

  // Drawn here rather than kept as <template>s so both pages get them from one place.
  const ICONS = {
    error: { size: 24, paths: [["M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20z", "currentColor"],
      ["M11 7h2v7h-2zm0 8.5h2v2h-2z", "#fff"]] },
    warning: { size: 24, paths: [["M10.3 3.9a2 2 0 0 1 3.4 0l8 13.6A2 2 0 0 1 20 20.5H4a2 2 0 0 1-1.7-3z",
      "currentColor"], ["M11 8.5h2v6h-2zm0 7.5h2v2h-2z", "#172B4D"]] },
    success: { size: 24, paths: [["M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20z", "currentColor"],
      ["m7.5 12.3 1.4-1.4 2.1 2.1 4.6-4.6 1.4 1.4-6 6z", "#fff"]] },
    info: { size: 24, paths: [["M12 2a10 10 0 1 1 0 20 10 10 0 0 1 0-20z", "currentColor"],
      ["M11 10.5h2v7h-2zm0-4h2v2h-2z", "#fff"]] },
    group: { size: 16, viewBox: "0 0 24 24", paths: [["M9 4.8a3.2 3.2 0 1 1 0 6.4 3.2 3.2 0 0 1 0-6.4z",
      "currentColor"], ["M3 18.5c0-3 2.7-5 6-5s6 2 6 5v.5H3z", "currentColor"],
      ["M16.5 6.6a2.4 2.4 0 1 1 0 4.8 2.4 2.4 0 0 1 0-4.8zM16 13.2c2.8 0 5 1.6 5 4.3v.5h-4.4c0-1.8-.7-3.4-2-4.5z",
        "currentColor", ".7"]] },
    remove: { size: 12, viewBox: "0 0 16 16", paths: [[
      "M4.2 3 3 4.2 6.8 8 3 11.8 4.2 13 8 9.2l3.8 3.8 1.2-1.2L9.2 8 13 4.2 11.8 3 8 6.8z", "currentColor"]] },
  };

  function icon(name) {
    const spec = ICONS[name] || ICONS.info;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", spec.viewBox || "0 0 24 24");
    svg.setAttribute("width", String(spec.size));
    svg.setAttribute("height", String(spec.size));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    spec.paths.forEach(function (item) {
      const path = document.createElementNS(ns, "path");
      path.setAttribute("d", item[0]);
      path.setAttribute("fill", item[1]);
      if (item[2]) {
        path.setAttribute("opacity", item[2]);
      }
      svg.appendChild(path);
    });
    return svg;
  }

  /* ---------------------------------------------------------------- strings */

  async function loadStrings(url) {
    if (!url) {
      return {};
    }
    try {
      const response = await window.fetch(url, { credentials: "omit" });
      return response.ok ? await response.json() : {};
    } catch (error) {
      // The English markup stays readable without the strings file.
      return {};
    }
  }

  function formatDateTime(date) {
    try {
      return new Intl.DateTimeFormat(i18n.locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
    } catch (error) {
      return date.toLocaleString();
    }
  }

  /* ------------------------------------------------------ the host (AP or Forge) */

  class AdminError extends pagemail.PagemailError {}

  const contextToken = pagemail.contextTokens(function (code) {
    return new AdminError(t(code === "no_host" ? "error.noHost" : "error.host"), 0, code);
  });

  /* ---------------------------------------------------------- section message */

  // The page's message box (static/pagemail.js), with the icons drawn here.
  function messageBox(node) {
    return pagemail.messageBox(node, icon);
  }

  /* ------------------------------------------------------------- field errors */

  /*
   * fields maps an API field path ("mail.senderAddress") to {id, label}: the control (or radio group name)
   * and the translation key of its label. The error goes into #<id>-error.
   */
  function fieldErrors(fields) {
    const shown = [];

    function control(id) {
      return byId(id) || document.querySelector('input[name="' + id + '"]:checked') ||
        document.querySelector('[name="' + id + '"]');
    }

    function clearIds(ids) {
      ids.forEach(function (id) {
        const slot = byId(id + "-error");
        if (slot) {
          slot.hidden = true;
          slot.textContent = "";
        }
        const node = control(id);
        if (node) {
          node.removeAttribute("aria-invalid");
          const described = (node.getAttribute("aria-describedby") || "").split(" ").filter(function (ref) {
            return ref && ref !== id + "-error";
          });
          if (described.length) {
            node.setAttribute("aria-describedby", described.join(" "));
          } else {
            node.removeAttribute("aria-describedby");
          }
          const field = node.closest(".field");
          if (field) {
            field.classList.remove("has-error");
          }
        }
      });
    }

    function clear() {
      clearIds(shown.splice(0));
    }

    function clearOne(id) {
      const index = shown.indexOf(id);
      if (index >= 0) {
        clearIds(shown.splice(index, 1));
      }
    }

    function showOne(id, text) {
      const slot = byId(id + "-error");
      if (!slot) {
        return false;
      }
      slot.textContent = "";
      slot.appendChild(icon("error"));
      slot.appendChild(element("span", "", text));
      slot.hidden = false;
      const node = control(id);
      if (node) {
        node.setAttribute("aria-invalid", "true");
        const described = (node.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (described.indexOf(id + "-error") < 0) {
          described.push(id + "-error");
        }
        node.setAttribute("aria-describedby", described.join(" "));
        const field = node.closest(".field");
        if (field) {
          field.classList.add("has-error");
        }
      }
      if (shown.indexOf(id) < 0) {
        shown.push(id);
      }
      return true;
    }

    /*
     * The server's messages are fragments ("is not a valid email address"), shown after the field's label;
     * `sentences` (optional, by path) replace them with whole sentences of our own. Answers the lines that
     * have no field on the page, for the summary.
     */
    function show(messages, sentences) {
      const leftOver = [];
      Object.keys(messages || {}).forEach(function (path) {
        const spec = fields[path];
        const raw = String(messages[path]);
        const own = sentences && sentences[path];
        const text = own || (spec ? t("error.field", { label: t(spec.label), message: raw }) : raw);
        if (!spec || !showOne(spec.id, text)) {
          leftOver.push(spec ? text : path + ": " + raw);
        }
      });
      return leftOver;
    }

    // The first control with an error (within `scope`, a node, when given) gets the focus.
    function focusFirst(scope) {
      const first = (scope || document).querySelector(".field-error:not([hidden])");
      if (!first) {
        return false;
      }
      const id = first.id.replace(/-error$/, "");
      const node = control(id);
      if (node && !node.disabled && node.offsetParent !== null) {
        node.focus();
        return true;
      }
      first.scrollIntoView({ block: "center" });
      return false;
    }

    // The ids of the controls that show an error now.
    function showing() {
      return shown.slice();
    }

    return {
      clear: clear,
      clearOne: clearOne,
      show: show,
      showOne: showOne,
      focusFirst: focusFirst,
      showing: showing,
    };
  }

  /* ------------------------------------------------------------------ buttons */

  function setBusy(button, busy) {
    button.disabled = busy;
    button.classList.toggle("is-loading", busy);
    button.setAttribute("aria-busy", busy ? "true" : "false");
    const spinner = button.querySelector(".spinner");
    if (spinner) {
      spinner.hidden = !busy;
    }
  }

  /* ------------------------------------------------------------- chip lists */

  // A chip; without onRemove it has no remove button yet (a picker's chips get theirs from pagemail.picker).
  function renderChip(name, kind, onRemove) {
    const chip = element("li", "chip chip-" + kind);
    if (kind === "group") {
      const badge = element("span", "chip-icon");
      badge.appendChild(icon("group"));
      chip.appendChild(badge);
    }
    chip.appendChild(element("span", "chip-name", name));
    if (onRemove) {
      chip.appendChild(pagemail.removeButton(name, icon("remove"), onRemove));
    }
    return chip;
  }

  function groupLabel(group) {
    return group.name || group.groupId;
  }

  // Groups as the API tells them (a name may be missing), those without an id left out.
  function groupsFrom(list, known) {
    return (Array.isArray(list) ? list : [])
      .filter(function (group) {
        return group && typeof group.groupId === "string" && group.groupId;
      })
      .map(function (group) {
        return { groupId: group.groupId, name: String(group.name || known[group.groupId] || "") };
      });
  }

  /*
   * A group picker: the shared picker (pagemail.picker) searching Confluence groups as the user types
   * (GET /api/recipients, its "groups" only).
   */
  function groupPicker(name, api, onChange) {
    const picker = pagemail.picker(name, {
      api: api,
      found: function (data) {
        return groupsFrom(data.groups, {});
      },
      key: function (group) {
        return group.groupId;
      },
      label: groupLabel,
      option: function (option, group) {
        const badge = element("span", "option-icon");
        badge.appendChild(icon("group"));
        option.appendChild(badge);
        option.appendChild(element("span", "option-name", groupLabel(group)));
      },
      chip: function (group) {
        return renderChip(groupLabel(group), "group", null);
      },
      removeIcon: function () {
        return icon("remove");
      },
      // With no suggestion made active, Enter takes the only one there is.
      enter: function () {
        if (picker.isOpen() && picker.optionCount() === 1) {
          picker.choose(0);
        }
      },
      onChange: onChange,
    });

    return {
      set: function (groups) {
        // Confluence may not tell a group's current name; a name picked here a moment ago is still good.
        const known = {};
        picker.items().forEach(function (group) {
          known[group.groupId] = group.name;
        });
        picker.set(groupsFrom(groups, known));
      },
      ids: function () {
        return picker.items().map(function (group) {
          return group.groupId;
        });
      },
      setDisabled: picker.setDisabled,
      focus: picker.focus,
    };
  }

  /* ---------------------------------------------------------- page start-up */

  // Strings and the user's Confluence locale (the host's page context), then the page translated. Answers the
  // API function.
  async function start(root, titleKey) {
    const answers = await Promise.all([loadStrings(root.dataset.stringsUrl || ""), pagemail.pageContext()]);
    pagemail.useLanguage(answers[0], answers[1].locale || "en");
    pagemail.translatePage(titleKey);
    return pagemail.createApi(root.dataset.apiBase || "/api", contextToken, AdminError);
  }

  function showLoaded(root) {
    byId("loading").hidden = true;
    root.setAttribute("aria-busy", "false");
  }

  window.pagemailAdminKit = Object.freeze({
    icon: icon,
    start: start,
    showLoaded: showLoaded,
    messageBox: messageBox,
    fieldErrors: fieldErrors,
    setBusy: setBusy,
    groupPicker: groupPicker,
    formatDateTime: formatDateTime,
  });

  /* ================================================= the global settings page */

  const root = byId("admin-settings");
  if (!root) {
    return;
  }

  // API field path → the control that edits it (id, or radio name) and its label.
  const FIELDS = {
    "mail.senderName": { id: "sender-name", label: "mail.senderName" },
    "mail.senderAddress": { id: "sender-address", label: "mail.senderAddress" },
    "mail.subjectPrefix": { id: "subject-prefix", label: "mail.subjectPrefix" },
    "mail.replyTo": { id: "reply-to", label: "mail.replyTo" },
    "layout.imageMode": { id: "image-mode", label: "layout.imageMode" },
    "layout.imageMaxSide": { id: "image-max-side", label: "layout.imageMaxSideLabel" },
    "layout.externalImages": { id: "external-images", label: "layout.externalImages" },
    "layout.headerText": { id: "header-text", label: "layout.headerText" },
    "layout.buttonLabel": { id: "button-label", label: "layout.buttonLabel" },
    "layout.customCss": { id: "custom-css", label: "layout.customCss" },
    "permissions.mode": { id: "permission-mode", label: "permissions.mode" },
    "permissions.groups": { id: "allowed-groups-input", label: "permissions.groups" },
    "permissions.enforceInAllSpaces": { id: "enforce-in-all-spaces", label: "permissions.enforce" },
    "permissions.allowExternal": { id: "allow-external", label: "permissions.allowExternal" },
    "permissions.allowedDomains": { id: "allowed-domains-input", label: "permissions.allowedDomains" },
    "permissions.maxRecipients": { id: "max-recipients", label: "permissions.maxRecipients" },
    "permissions.maxAttachmentBytes": { id: "max-attachment-mb", label: "permissions.maxAttachment" },
    "permissions.confirmAbove": { id: "confirm-above", label: "permissions.confirmAboveLabel" },
    "permissions.withoutAccess": { id: "without-access", label: "permissions.withoutAccess" },
    "smtp.mode": { id: "smtp-mode", label: "smtp.mode" },
    "smtp.host": { id: "smtp-host", label: "smtp.host" },
    "smtp.port": { id: "smtp-port", label: "smtp.port" },
    "smtp.security": { id: "smtp-security", label: "smtp.security" },
    "smtp.username": { id: "smtp-username", label: "smtp.username" },
    "smtp.password": { id: "smtp-password", label: "smtp.password" },
    "smtp.microsoft365.tenantId": { id: "m365-tenant-id", label: "m365.tenantId" },
    "smtp.microsoft365.clientId": { id: "m365-client-id", label: "m365.clientId" },
    "smtp.microsoft365.mailbox": { id: "m365-mailbox", label: "m365.mailbox" },
    "smtp.microsoft365.clientSecret": { id: "m365-client-secret", label: "m365.clientSecret" },
    "smtp.microsoft365.certificate": { id: "m365-certificate", label: "m365.certificate" },
    "smtp.google.mailbox": { id: "google-mailbox", label: "google.mailbox" },
    "smtp.google.serviceAccountKey": { id: "google-key", label: "google.key" },
    "smtp.microsoft365": { id: "smtp-mode", label: "smtp.modeMicrosoft365" },
    "smtp.google": { id: "smtp-mode", label: "smtp.modeGoogle" },
    "debugLoggingHours": { id: "debug-hours", label: "debug.hoursLabel" },
  };
  const SMTP_STAGES = {
    connect: "smtp.stageConnect",
    tls: "smtp.stageTls",
    auth: "smtp.stageAuth",
    token: "smtp.stageToken",
    MAIL: "smtp.stageSend",
    RCPT: "smtp.stageSend",
    DATA: "smtp.stageSend",
  };
  // The page's sections, each a form with its own Save (templates/admin.html).
  const SECTIONS = ["mail", "layout", "permissions", "smtp", "debug"];
  // Editing one control can fix an error shown at another: these errors go too.
  const ALSO_CLEARS = {
    "permission-mode": ["allowed-groups-input"],
    "allow-external": ["allowed-domains-input"],
    "image-mode": ["image-max-side"],
    "smtp-mode": ["smtp-host", "smtp-port", "smtp-security", "smtp-username", "smtp-password", "m365-tenant-id",
      "m365-client-id", "m365-mailbox", "m365-client-secret", "m365-certificate", "google-mailbox", "google-key"],
    "m365-tenant-id": ["m365-client-secret", "m365-certificate"],
    "m365-client-id": ["m365-client-secret", "m365-certificate"],
    "m365-credential": ["m365-client-secret", "m365-certificate"],
    "smtp-host": ["smtp-password"],
    "smtp-port": ["smtp-password"],
    "smtp-username": ["smtp-password"],
    "clear-password": ["smtp-password"],
    "debug-mode": ["debug-hours"],
  };
  /*
   * The mail providers (smtp.mode "microsoft365", "google"; DESIGN §7): the fields of smtp.<mode> by control id,
   * and the write-only credentials (answered only as <setKey>). A provider's mode needs one, so there is no "remove":
   * an empty field keeps the saved one, a new one replaces it. Microsoft 365 takes a client secret or a certificate
   * (`credential`, the value of the m365-credential radio: the server keeps whichever was saved last). `boundTo`: the
   * fields the saved credential was saved with; the server uses it with no others, so the page asks for it again when
   * they change.
   */
  const PROVIDERS = {
    microsoft365: {
      box: "m365-fields",
      guide: "m365-guide",
      fields: { tenantId: "m365-tenant-id", clientId: "m365-client-id", mailbox: "m365-mailbox" },
      credentialRadio: "m365-credential",
      secrets: [
        {
          credential: "secret",
          field: "m365-secret-field",
          input: "m365-client-secret",
          help: "m365-client-secret-help",
          again: "m365-client-secret-again",
          summary: "",
          key: "clientSecret",
          setKey: "clientSecretSet",
          saved: "m365.secretSaved",
          againError: "m365.clientSecretAgainError",
        },
        {
          credential: "certificate",
          field: "m365-certificate-field",
          input: "m365-certificate",
          help: "m365-certificate-help",
          again: "m365-certificate-again",
          summary: "m365-certificate-summary",
          key: "certificate",
          setKey: "certificateSet",
          saved: "m365.certificateSaved",
          againError: "m365.certificateAgainError",
        },
      ],
      boundTo: ["tenantId", "clientId"],
      clear: { choice: "clear-m365-choice", input: "clear-m365-credential", key: "clearCredential" },
      providerError: "m365.providerError",
    },
    google: {
      box: "google-fields",
      guide: "google-guide",
      fields: { mailbox: "google-mailbox" },
      credentialRadio: "",
      secrets: [
        {
          credential: "",
          field: "",
          input: "google-key",
          help: "google-key-help",
          again: "google-key-again",
          summary: "google-key-summary",
          key: "serviceAccountKey",
          setKey: "serviceAccountKeySet",
          saved: "google.keySaved",
          againError: "google.keyAgainError",
        },
      ],
      // Domain-wide delegation lets a key act as anyone in the domain: the saved one stays with its mailbox.
      boundTo: ["mailbox"],
      clear: { choice: "clear-google-choice", input: "clear-google-key", key: "clearServiceAccountKey" },
      providerError: "google.providerError",
    },
  };
  // Files read into a credential field: the key's or the certificate's text box, and where the file's name is told.
  const CREDENTIAL_FILES = [
    { file: "m365-certificate-file", button: "m365-certificate-choose", name: "m365-certificate-file-name",
      input: "m365-certificate" },
    { file: "google-key-file", button: "google-key-choose", name: "google-key-file-name", input: "google-key" },
  ];
  // A service account key is about 2.4 KB, a key and certificate in PEM about 3 KB; anything far bigger is not one
  // (and is not read into the page).
  const MAX_KEY_FILE_BYTES = 64 * 1024;

  const settingsForm = byId("settings-form");
  const message = messageBox(byId("message"));
  const errors = fieldErrors(FIELDS);
  const sectionMessages = {};
  SECTIONS.forEach(function (name) {
    sectionMessages[name] = messageBox(byId(name + "-message"));
  });
  const state = {
    api: null,
    saved: null, // the last settings the server answered
    baseline: {}, // section → its snapshot as last loaded or saved
    saving: {}, // section → a save is on its way
    justSaved: {}, // section → saved, and not edited since
    problem: {}, // section → "fields" | "other" while its section message shows why a save failed
    debugTouched: false,
    domains: [],
    groups: null,
    previewTimer: 0,
    previewController: null,
    previewShowsText: false,
    smtpEdits: 0, // counts edits of the mail-server fields: a test answer for older values is stale
    guidesShown: false, // the providers' setup steps were opened or closed once, on the first load
  };

  function radio(name) {
    const checked = document.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : "";
  }

  function setRadio(name, value) {
    document.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
      input.checked = input.value === value;
    });
  }

  function text(id) {
    return byId(id).value;
  }

  // A whole number from the field, or the raw text so the server can say what is wrong with it.
  function integer(id) {
    const raw = byId(id).value.trim();
    return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  }

  function asText(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function sectionOfPath(path) {
    const head = path.split(".")[0];
    return head === "debugLoggingHours" ? "debug" : head;
  }

  function sectionOfNode(node) {
    const form = node && node.closest ? node.closest("form.settings-section") : null;
    return form ? form.dataset.section : "";
  }

  /* ------------------------------------------------------------ the form ⇄ data */

  const FILL = {
    mail: function (mail) {
      byId("sender-name").value = asText(mail.senderName);
      byId("sender-address").value = asText(mail.senderAddress);
      byId("subject-prefix").value = asText(mail.subjectPrefix);
      setRadio("reply-to", mail.replyTo || "sender");
    },
    layout: function (layout) {
      setRadio("image-mode", layout.imageMode || "fit");
      byId("image-max-side").value = asText(layout.imageMaxSide);
      setRadio("external-images", layout.externalImages || "link");
      byId("header-text").value = asText(layout.headerText);
      byId("button-label").value = asText(layout.buttonLabel);
      byId("custom-css").value = asText(layout.customCss);
    },
    permissions: function (permissions) {
      setRadio("permission-mode", permissions.mode || "all");
      state.groups.set(permissions.groups || []);
      byId("enforce-in-all-spaces").checked = !!permissions.enforceInAllSpaces;
      byId("allow-external").checked = permissions.allowExternal !== false;
      state.domains = Array.isArray(permissions.allowedDomains) ? permissions.allowedDomains.slice() : [];
      renderDomains();
      byId("allowed-domains-input").value = "";
      byId("max-recipients").value = asText(permissions.maxRecipients);
      const bytes = Number(permissions.maxAttachmentBytes);
      byId("max-attachment-mb").value = isFinite(bytes) ? String(Math.round((bytes / MB) * 100) / 100) : "";
      byId("confirm-above").value = asText(permissions.confirmAbove === undefined ? 25 : permissions.confirmAbove);
      setRadio("without-access", permissions.withoutAccess === "block" ? "block" : "warn");
    },
    smtp: function (smtp) {
      setRadio("smtp-mode", smtp.mode || "default");
      byId("smtp-host").value = asText(smtp.host);
      byId("smtp-port").value = asText(smtp.port || 587);
      byId("smtp-security").value = smtp.security === "tls" ? "tls" : "starttls";
      byId("smtp-username").value = asText(smtp.username);
      byId("smtp-password").value = "";
      byId("clear-password").checked = false;
      byId("smtp-password").dataset.saved = smtp.passwordSet ? "true" : "false";
      byId("clear-password-choice").hidden = !smtp.passwordSet;
      Object.keys(PROVIDERS).forEach(function (mode) {
        fillProvider(mode, smtp[mode] || {});
      });
      state.guidesShown = true;
    },
    debug: function (_unused, settings) {
      state.debugTouched = false;
      const until = debugUntil(settings);
      setRadio("debug-mode", until ? "on" : "off");
      if (until) {
        const hoursLeft = Math.ceil((until.getTime() - Date.now()) / 3600000);
        byId("debug-hours").value = String(Math.min(24, Math.max(1, hoursLeft)));
      }
    },
  };

  function fillSection(name, settings) {
    FILL[name](settings[name] || {}, settings);
  }

  // What each section would save, in the API's shape (without what only the save itself adds).
  const VALUES = {
    mail: function () {
      return {
        senderName: text("sender-name"),
        senderAddress: text("sender-address").trim(),
        subjectPrefix: text("subject-prefix"),
        replyTo: radio("reply-to"),
      };
    },
    layout: function () {
      const layout = {
        imageMode: radio("image-mode"),
        externalImages: radio("external-images"),
        headerText: text("header-text"),
        buttonLabel: text("button-label"),
        customCss: text("custom-css"),
      };
      // The size matters only with "longest side at most" (the field is disabled otherwise) and is kept as saved.
      if (layout.imageMode === "max_side") {
        layout.imageMaxSide = integer("image-max-side");
      }
      return layout;
    },
    permissions: function () {
      return {
        mode: radio("permission-mode"),
        groups: state.groups.ids().map(function (id) {
          return { groupId: id };
        }),
        enforceInAllSpaces: byId("enforce-in-all-spaces").checked,
        allowExternal: byId("allow-external").checked,
        allowedDomains: state.domains.slice(),
        maxRecipients: integer("max-recipients"),
        confirmAbove: integer("confirm-above"),
        withoutAccess: radio("without-access"),
      };
    },
    smtp: function () {
      const mode = radio("smtp-mode");
      if (PROVIDERS[mode]) {
        return withClearedCredentials(providerValues(mode));
      }
      // With pagemail's server the own-server fields are hidden: they are kept as saved, not sent half-edited.
      return withClearedCredentials(mode !== "custom" ? { mode: mode } : {
        mode: mode,
        host: text("smtp-host").trim(),
        port: integer("smtp-port"),
        security: byId("smtp-security").value,
        username: text("smtp-username").trim(),
      });
    },
    debug: function () {
      return state.debugTouched ? { mode: radio("debug-mode"), hours: byId("debug-hours").value } : null;
    },
  };

  // Everything the admin can change in a section, to tell whether it has unsaved changes.
  function snapshot(name) {
    const extra = {
      permissions: function () {
        return byId("max-attachment-mb").value;
      },
      smtp: function () {
        const secrets = [byId("smtp-password").value !== "", byId("clear-password").checked];
        Object.keys(PROVIDERS).forEach(function (mode) {
          PROVIDERS[mode].secrets.forEach(function (secret) {
            secrets.push(byId(secret.input).value.trim() !== "");
          });
        });
        return secrets;
      },
    };
    return JSON.stringify([VALUES[name](), extra[name] ? extra[name]() : null]);
  }

  function isDirty(name) {
    return snapshot(name) !== state.baseline[name];
  }

  function markClean(name) {
    state.baseline[name] = snapshot(name);
  }

  // The request body that saves one section, and nothing of the others.
  function saveBody(name) {
    if (name === "debug") {
      return { debugLoggingHours: radio("debug-mode") === "on" ? debugHours() : 0 };
    }
    const values = VALUES[name]();
    if (name === "permissions") {
      values.maxAttachmentBytes = maxAttachmentBytes();
    }
    if (name === "smtp") {
      withSecrets(values);
    }
    const body = {};
    body[name] = values;
    return body;
  }

  function maxAttachmentBytes() {
    const raw = byId("max-attachment-mb").value.trim().replace(",", ".");
    const mb = raw === "" ? NaN : Number(raw);
    if (!isFinite(mb) || mb < 0 || mb > MAX_ATTACHMENT_MB) {
      return null;
    }
    return Math.round(mb * MB);
  }

  function debugHours() {
    const raw = byId("debug-hours").value.trim();
    const hours = /^\d+$/.test(raw) ? Number(raw) : NaN;
    return hours >= 1 && hours <= 24 ? hours : null;
  }

  /* ---------------------------------------------------------- section state */

  // Next to each Save: saving, unsaved changes, or saved (until the next edit).
  function updateStatus(name) {
    const status = byId(name + "-save-status");
    let kind = "";
    if (state.saving[name]) {
      kind = "saving";
    } else if (isDirty(name)) {
      kind = "unsaved";
    } else if (state.justSaved[name]) {
      kind = "saved";
    }
    const texts = { saving: "admin.saving", unsaved: "admin.sectionUnsaved", saved: "admin.sectionSaved" };
    status.className = "section-status" + (kind ? " is-" + kind : "");
    status.textContent = kind ? t(texts[kind]) : "";
  }

  function updateStatuses() {
    SECTIONS.forEach(updateStatus);
  }

  /* --------------------------------------------------- fields that depend on others */

  function updateDependentFields() {
    byId("image-max-side").disabled = radio("image-mode") !== "max_side";
    byId("allowed-groups-field").hidden = radio("permission-mode") !== "groups";
    byId("allowed-domains-field").hidden = !byId("allow-external").checked;
    byId("smtp-fields").hidden = radio("smtp-mode") !== "custom";
    let anyClear = false;
    Object.keys(PROVIDERS).forEach(function (mode) {
      const provider = PROVIDERS[mode];
      byId(provider.box).hidden = radio("smtp-mode") !== mode;
      const removable = byId(provider.clear.input).dataset.saved === "true" && radio("smtp-mode") !== mode;
      byId(provider.clear.choice).hidden = !removable;
      anyClear = anyClear || removable;
    });
    byId("provider-clear").hidden = !anyClear;
    fillCommands();
    showKeySummary();
    showCertificateSummary();
    byId("debug-hours").disabled = radio("debug-mode") !== "on";
    updatePasswordState();
  }

  function hostKey(value) {
    return String(value || "").trim().toLowerCase();
  }

  /*
   * The saved password belongs to the host, port and username it was saved for (the server refuses to use it for
   * any other: 400 password_required on a test, a field error on a save). True when the form points elsewhere and
   * brings no new password, so the page can say so before the admin tries.
   */
  function passwordNeeded() {
    const saved = state.saved && state.saved.smtp ? state.saved.smtp : {};
    if (!saved.passwordSet || radio("smtp-mode") !== "custom" || byId("smtp-password").value ||
        byId("clear-password").checked) {
      return false;
    }
    return hostKey(text("smtp-host")) !== hostKey(saved.host) ||
      String(integer("smtp-port")) !== String(saved.port) ||
      text("smtp-username").trim() !== String(saved.username || "");
  }

  function updatePasswordState() {
    const password = byId("smtp-password");
    const needed = passwordNeeded();
    const kept = password.dataset.saved === "true" && !byId("clear-password").checked && !needed;
    password.placeholder = kept && !password.value ? t("smtp.passwordSaved") : "";
    byId("smtp-password-again").hidden = !needed;
    const described = ["smtp-password-help"];
    if (needed) {
      described.push("smtp-password-again");
    }
    if (errors.showing().indexOf("smtp-password") >= 0) {
      described.push("smtp-password-error");
    }
    password.setAttribute("aria-describedby", described.join(" "));
    Object.keys(PROVIDERS).forEach(updateSecretState);
  }

  function debugUntil(settings) {
    const value = settings && settings.debugLoggingUntil;
    const date = value ? new Date(value) : null;
    return date && !isNaN(date.getTime()) && date.getTime() > Date.now() ? date : null;
  }

  function showDebugStatus() {
    const status = byId("debug-status");
    const until = debugUntil(state.saved);
    const on = radio("debug-mode") === "on";
    if (state.debugTouched) {
      const hours = debugHours();
      if (!on) {
        status.textContent = until ? t("debug.willTurnOff") : t("debug.isOff");
      } else if (hours) {
        status.textContent = t("debug.willBeOnUntil", {
          time: formatDateTime(new Date(Date.now() + hours * 3600000)),
        });
      } else {
        status.textContent = "";
      }
      return;
    }
    status.textContent = until ? t("debug.onUntil", { time: formatDateTime(until) }) : t("debug.isOff");
  }

  /* ------------------------------------------------------- mail providers */

  function fillProvider(mode, saved) {
    const provider = PROVIDERS[mode];
    Object.keys(provider.fields).forEach(function (key) {
      byId(provider.fields[key]).value = asText(saved[key]);
    });
    let anySaved = false;
    provider.secrets.forEach(function (secret) {
      byId(secret.input).value = "";
      byId(secret.input).dataset.saved = saved[secret.setKey] ? "true" : "false";
      anySaved = anySaved || !!saved[secret.setKey];
    });
    byId(provider.clear.input).checked = false;
    byId(provider.clear.input).dataset.saved = anySaved ? "true" : "false";
    if (provider.credentialRadio) {
      setRadio(provider.credentialRadio, saved.certificateSet ? "certificate" : "secret");
    }
    CREDENTIAL_FILES.forEach(function (spec) {
      byId(spec.name).textContent = ""; // the file's content was saved or put back: no longer "read"
    });
    if (!state.guidesShown) {
      // Nothing set up yet: the steps are what the admin needs first. Later they stay as the admin leaves them.
      byId(provider.guide).open = !anySaved;
    }
  }

  // The other providers' saved credentials the admin asked to remove (never the chosen provider's: it needs one).
  function withClearedCredentials(smtp) {
    Object.keys(PROVIDERS).forEach(function (mode) {
      const clear = PROVIDERS[mode].clear;
      if (mode !== smtp.mode && !byId(clear.choice).hidden && byId(clear.input).checked) {
        smtp[mode] = smtp[mode] || {};
        smtp[mode][clear.key] = true;
      }
    });
    return smtp;
  }

  function providerValues(mode) {
    const provider = PROVIDERS[mode];
    const values = {};
    Object.keys(provider.fields).forEach(function (key) {
      values[key] = text(provider.fields[key]).trim();
    });
    const body = { mode: mode };
    body[mode] = values;
    return body;
  }

  // The credential the form would send for a provider: the one chosen (Microsoft 365), or its only one.
  function activeSecret(mode) {
    const provider = PROVIDERS[mode];
    const chosen = provider.credentialRadio ? radio(provider.credentialRadio) : "";
    return provider.secrets.filter(function (secret) {
      return secret.credential === chosen;
    })[0] || provider.secrets[0];
  }

  /*
   * Like passwordNeeded: a credential is saved, but the server would not use it with what the form says now (another
   * tenant or app), and no new one is typed.
   */
  function secretNeeded(mode) {
    const provider = PROVIDERS[mode];
    const smtp = state.saved && state.saved.smtp ? state.saved.smtp : {};
    const saved = smtp[mode] || {};
    const anySaved = provider.secrets.some(function (secret) {
      return !!saved[secret.setKey];
    });
    if (!anySaved || radio("smtp-mode") !== mode || byId(activeSecret(mode).input).value.trim()) {
      return false;
    }
    return provider.boundTo.some(function (key) {
      return hostKey(text(provider.fields[key])) !== hostKey(saved[key]);
    });
  }

  function updateSecretState(mode) {
    const provider = PROVIDERS[mode];
    const active = activeSecret(mode);
    const needed = secretNeeded(mode);
    provider.secrets.forEach(function (secret) {
      const input = byId(secret.input);
      if (secret.field) {
        byId(secret.field).hidden = secret !== active;
      }
      const kept = input.dataset.saved === "true" && !needed;
      input.placeholder = kept && !input.value ? t(secret.saved) : "";
      const described = [secret.help];
      if (secret.again) {
        byId(secret.again).hidden = !(needed && secret === active);
        if (!byId(secret.again).hidden) {
          described.push(secret.again);
        }
      }
      if (secret.summary && !byId(secret.summary).hidden) {
        described.push(secret.summary);
      }
      if (errors.showing().indexOf(secret.input) >= 0) {
        described.push(secret.input + "-error");
      }
      input.setAttribute("aria-describedby", described.join(" "));
    });
  }

  // The setup commands name the app and the mailbox as typed, so they can be copied as they are.
  function fillCommands() {
    document.querySelectorAll("#m365-guide [data-fill]").forEach(function (slot) {
      const value = text(slot.dataset.fill).trim();
      slot.textContent = value || t(slot.dataset.i18n);
      slot.classList.toggle("is-placeholder", !value);
    });
  }

  /*
   * The facts of a pasted key the admin needs elsewhere: the service account and the Client ID that domain-wide
   * delegation asks for. Read here only to show them; the server checks the key itself.
   */
  function keyFacts(raw) {
    let key = null;
    try {
      key = JSON.parse(raw);
    } catch (error) {
      return null;
    }
    if (!key || typeof key !== "object" || key.type !== "service_account" || typeof key.client_email !== "string") {
      return null;
    }
    return { email: key.client_email, clientId: typeof key.client_id === "string" ? key.client_id : "" };
  }

  function showKeySummary() {
    const summary = byId("google-key-summary");
    const raw = byId("google-key").value.trim();
    summary.className = "key-summary";
    summary.textContent = "";
    if (!raw) {
      // The saved key is never sent back, only whose it is.
      const saved = state.saved && state.saved.smtp && state.saved.smtp.google ? state.saved.smtp.google : {};
      summary.textContent = saved.serviceAccountKeySet && saved.serviceAccountEmail
        ? t("google.keySavedOf", { email: saved.serviceAccountEmail }) : "";
      summary.hidden = !summary.textContent;
      return;
    }
    const facts = keyFacts(raw);
    if (!facts) {
      summary.classList.add("is-warning");
      summary.textContent = t("google.notAKey");
    } else {
      summary.textContent = t(facts.clientId ? "google.keyOf" : "google.keyOfNoId", facts);
    }
    summary.hidden = false;
  }

  // A certificate credential must bring its private key and its certificate (the server checks them properly).
  function showCertificateSummary() {
    const summary = byId("m365-certificate-summary");
    const raw = byId("m365-certificate").value;
    const complete = /-----BEGIN (?:RSA )?PRIVATE KEY-----/.test(raw) && /-----BEGIN CERTIFICATE-----/.test(raw);
    summary.textContent = raw.trim() && !complete ? t("m365.certificateIncomplete") : "";
    summary.hidden = !summary.textContent;
  }

  // Choosing a credential's file: read here in the browser (FileReader), put into its field as if pasted.
  function readCredentialFile(spec, file) {
    const name = byId(spec.name);
    if (!file) {
      return;
    }
    if (file.size > MAX_KEY_FILE_BYTES) {
      name.textContent = "";
      errors.showOne(spec.input, t("credential.fileTooBig", { name: file.name }));
      return;
    }
    const reader = new window.FileReader();
    reader.onload = function () {
      const field = byId(spec.input);
      field.value = String(reader.result || "").trim();
      name.textContent = t("credential.fileRead", { name: file.name });
      field.dispatchEvent(new window.Event("input", { bubbles: true }));
    };
    reader.onerror = function () {
      name.textContent = "";
      errors.showOne(spec.input, t("credential.fileUnreadable", { name: file.name }));
    };
    reader.readAsText(file);
  }

  function wireCredentialFiles() {
    CREDENTIAL_FILES.forEach(function (spec) {
      const input = byId(spec.file);
      byId(spec.button).addEventListener("click", function () {
        input.click();
      });
      input.addEventListener("change", function () {
        readCredentialFile(spec, input.files && input.files[0]);
        // The same file can be chosen again after an edit; the credential never stays in the file input.
        input.value = "";
      });
    });
  }

  /* ---------------------------------------------------------- allowed domains */

  function renderDomains() {
    const chips = byId("allowed-domains-chips");
    chips.textContent = "";
    state.domains.forEach(function (domain, index) {
      chips.appendChild(renderChip(domain, "domain", function () {
        state.domains.splice(index, 1);
        renderDomains();
        announce(t("picker.removed", { name: domain }));
        byId("allowed-domains-input").focus();
        edited("permissions", ["allowed-domains-input"]);
      }));
    });
    chips.hidden = !state.domains.length;
  }

  // Adds what was typed (one or several domains); answers false and says why when something isn't a domain.
  function commitDomains() {
    const input = byId("allowed-domains-input");
    const typed = input.value.split(/[\s,;]+/).map(function (part) {
      return part.trim().toLowerCase().replace(/^@/, "");
    }).filter(Boolean);
    errors.clearOne("allowed-domains-input");
    if (!typed.length) {
      input.value = "";
      edited("permissions", []);
      return true;
    }
    const bad = typed.filter(function (domain) {
      return !LOOSE_DOMAIN.test(domain);
    });
    typed.filter(function (domain) {
      return LOOSE_DOMAIN.test(domain) && state.domains.indexOf(domain) < 0;
    }).forEach(function (domain) {
      state.domains.push(domain);
      announce(t("picker.added", { name: domain }));
    });
    renderDomains();
    input.value = bad.join(", ");
    if (bad.length) {
      errors.showOne("allowed-domains-input", t("permissions.notADomain", { domain: bad[0] }));
    }
    edited("permissions", []);
    return !bad.length;
  }

  function wireDomains() {
    const input = byId("allowed-domains-input");
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === "," || event.key === ";") {
        event.preventDefault();
        commitDomains();
      } else if (event.key === "Backspace" && !input.value && state.domains.length) {
        event.preventDefault();
        const removed = state.domains.pop();
        renderDomains();
        announce(t("picker.removed", { name: removed }));
        edited("permissions", ["allowed-domains-input"]);
      }
    });
    input.addEventListener("paste", function () {
      window.setTimeout(function () {
        if (/[\s,;]/.test(input.value)) {
          commitDomains();
        }
      }, 0);
    });
    input.addEventListener("blur", function () {
      if (input.value.trim()) {
        commitDomains();
      }
    });
    byId("allowed-domains-field").querySelector(".picker").addEventListener("click", function (event) {
      if (event.target === event.currentTarget || event.target.id === "allowed-domains-chips") {
        input.focus();
      }
    });
  }

  /* ------------------------------------------------------------ live preview */

  function schedulePreview() {
    window.clearTimeout(state.previewTimer);
    // A problem with the last preview may be what was just edited away; the next answer tells.
    byId("preview-problem").hidden = true;
    byId("preview-state").textContent = t("preview.updating");
    state.previewTimer = window.setTimeout(updatePreview, PREVIEW_DELAY_MS);
  }

  async function updatePreview() {
    if (state.previewController) {
      state.previewController.abort();
    }
    const mine = new AbortController();
    state.previewController = mine;
    const problem = byId("preview-problem");
    try {
      const data = await state.api("POST", "/admin/preview", { layout: VALUES.layout(), mail: VALUES.mail() },
        mine.signal);
      if (state.previewController !== mine) {
        return;
      }
      byId("preview-subject").textContent = String(data.subject || "");
      // sandbox="" on the frame: no scripts, no forms, no navigation, an opaque origin.
      byId("preview-frame").srcdoc = String(data.html || "");
      byId("preview-text").textContent = String(data.text || "");
      problem.hidden = true;
      byId("preview-state").textContent = "";
    } catch (error) {
      if (isAbort(error) || state.previewController !== mine) {
        return;
      }
      byId("preview-state").textContent = "";
      const fields = error.details && error.details.fields ? error.details.fields : null;
      const lines = fields
        ? Object.keys(fields).map(function (path) {
          return FIELDS[path] ? t(FIELDS[path].label) + ": " + fields[path] : path + ": " + fields[path];
        })
        : [error.message];
      problem.textContent = t("preview.failed", { reason: lines.join("; ") });
      problem.hidden = false;
    } finally {
      if (state.previewController === mine) {
        state.previewController = null;
      }
    }
  }

  function togglePreviewText() {
    state.previewShowsText = !state.previewShowsText;
    const toggle = byId("preview-toggle");
    byId("preview-frame").hidden = state.previewShowsText;
    byId("preview-text").hidden = !state.previewShowsText;
    toggle.setAttribute("aria-pressed", state.previewShowsText ? "true" : "false");
    toggle.textContent = t(state.previewShowsText ? "preview.showHtml" : "preview.showText");
  }

  /* -------------------------------------------------------------- mail server */

  // The server the test uses: the form's, saved or not (pagemail's own server when that is chosen).
  function smtpTestBody() {
    return { smtp: withSecrets(VALUES.smtp()) };
  }

  // The mail server's values with the secret the admin typed (or asked to remove): sent, never shown again.
  function withSecrets(smtp) {
    if (smtp.mode === "custom") {
      const password = byId("smtp-password").value;
      if (password) {
        smtp.password = password;
      } else if (byId("clear-password").checked) {
        smtp.clearPassword = true;
      }
    }
    const provider = PROVIDERS[smtp.mode];
    const secret = provider ? activeSecret(smtp.mode) : null;
    // Only the chosen credential: the server takes one at a time.
    const typed = secret ? byId(secret.input).value.trim() : "";
    if (typed) {
      smtp[smtp.mode][secret.key] = typed;
    }
    return smtp;
  }

  /*
   * kind: "ok", "warning" (it worked, with a caveat the admin must know) or "failed". details: [label, value] lines
   * under the sentence (a provider's own error code, how to fix it).
   */
  function showSmtpResult(kind, textValue, details) {
    const result = byId("smtp-result");
    result.className = "test-result is-" + kind;
    const holder = result.querySelector(".test-result-icon");
    holder.textContent = "";
    holder.appendChild(icon(kind === "ok" ? "success" : kind === "warning" ? "warning" : "error"));
    result.querySelector(".test-result-text").textContent = textValue;
    const list = result.querySelector(".test-result-details");
    list.textContent = "";
    (details || []).forEach(function (line) {
      const row = element("div", "test-result-detail");
      row.appendChild(element("dt", "", line[0]));
      row.appendChild(element("dd", "", line[1]));
      list.appendChild(row);
    });
    list.hidden = !list.children.length;
    result.hidden = false;
  }

  /*
   * What a provider said besides the sentence: its own error code (e.g. AADSTS7000215, searchable in its
   * documentation) and a one-line fix, as the test answer gives them.
   */
  function resultDetails(data, mode) {
    const details = [];
    const provider = PROVIDERS[mode];
    if (data.providerError) {
      details.push([t(provider ? provider.providerError : "smtp.serverError"), String(data.providerError)]);
    }
    if (data.hint) {
      details.push([t("smtp.hint"), String(data.hint)]);
    }
    return details;
  }

  function hideSmtpResult() {
    byId("smtp-result").hidden = true;
  }

  function stageText(stage) {
    return SMTP_STAGES[stage] ? t(SMTP_STAGES[stage]) : String(stage || "");
  }

  /*
   * A success, told as it was: a server reached in plain text or without signing in is not "a connection that
   * works" (the answer's `encrypted` and `authenticated` say how it went).
   */
  function successText(data, mail) {
    const prefix = mail ? "smtp.testMail" : "smtp.test";
    const encrypted = data.encrypted !== false;
    const authenticated = data.authenticated !== false;
    let key = prefix + "Ok";
    if (!encrypted && !authenticated) {
      key = prefix + "PlainAnonymous";
    } else if (!encrypted) {
      key = prefix + "Plain";
    } else if (!authenticated) {
      key = prefix + "Anonymous";
    }
    let textValue = t(key);
    if (!authenticated && data.authOffered) {
      textValue += " " + t("smtp.authOffered");
    }
    return { kind: encrypted && authenticated ? "ok" : "warning", text: textValue };
  }

  async function runSmtpTest(button, path, mail) {
    const body = smtpTestBody();
    // Only the mail server's fields: what the rest of the form said at the last save still stands.
    ALSO_CLEARS["smtp-mode"].concat(["smtp-mode"]).forEach(function (id) {
      errors.clearOne(id);
    });
    hideSectionProblem("smtp");
    setBusy(button, true);
    hideSmtpResult();
    const edits = state.smtpEdits;
    try {
      const data = await state.api("POST", path, body);
      if (edits !== state.smtpEdits) {
        return; // the fields changed while the server was asked: this answer is about other values
      }
      if (data.ok) {
        const success = successText(data, mail);
        showSmtpResult(success.kind, success.text);
      } else {
        showSmtpResult("failed", t("smtp.failedAt", { stage: stageText(data.stage), message: data.message || "" }),
          resultDetails(data, body.smtp.mode));
      }
    } catch (error) {
      if (error.status === 403) {
        refuse();
        return;
      }
      if (edits !== state.smtpEdits) {
        return;
      }
      if (error.code === "password_required") {
        errors.showOne("smtp-password", t("smtp.passwordAgainError"));
        updatePasswordState();
        errors.focusFirst(byId("smtp-section"));
        showSmtpResult("failed", t("smtp.notTested", { reason: t("smtp.passwordAgainError") }));
        return;
      }
      if (error.code === "secret_required" && PROVIDERS[body.smtp.mode]) {
        // A saved credential is never sent for another tenant or app, nor a Google key for another mailbox.
        const secret = activeSecret(body.smtp.mode);
        errors.showOne(secret.input, t(secret.againError));
        updatePasswordState();
        errors.focusFirst(byId("smtp-section"));
        showSmtpResult("failed", t("smtp.notTested", { reason: t(secret.againError) }));
        return;
      }
      if (error.details && error.details.fields) {
        errors.show(error.details.fields);
        updatePasswordState();
        errors.focusFirst(byId("smtp-section"));
      }
      showSmtpResult("failed", error.message);
    } finally {
      setBusy(button, false);
    }
  }

  /* ---------------------------------------------------------------- save */

  // What the form can tell before asking the server, as whole sentences by API path.
  function clientProblems(name) {
    const problems = {};
    if (name === "permissions") {
      if (radio("permission-mode") === "groups" && !state.groups.ids().length) {
        // Saved as is, nobody could send any page.
        problems["permissions.groups"] = t("permissions.groupsEmpty");
      }
      if (maxAttachmentBytes() === null) {
        problems["permissions.maxAttachmentBytes"] = t("permissions.maxAttachmentInvalid");
      }
      const confirmAbove = integer("confirm-above");
      if (typeof confirmAbove !== "number" || confirmAbove < 1 || confirmAbove > 10000) {
        problems["permissions.confirmAbove"] = t("permissions.confirmAboveInvalid");
      }
      if (byId("allowed-domains-input").value.trim() && !commitDomains()) {
        problems["permissions.allowedDomains"] = t("permissions.notADomain", {
          domain: byId("allowed-domains-input").value.split(/[\s,;]+/)[0],
        });
      }
    }
    if (name === "debug" && radio("debug-mode") === "on" && debugHours() === null) {
      problems.debugLoggingHours = t("debug.hoursInvalid");
    }
    return problems;
  }

  function hideSectionProblem(name) {
    if (state.problem[name]) {
      state.problem[name] = "";
      sectionMessages[name].hide();
    }
  }

  function sectionFieldErrors(name) {
    return errors.showing().filter(function (id) {
      return sectionOfNode(byId(id + "-error")) === name;
    });
  }

  function refusedSave(name, fields, sentences) {
    const leftOver = errors.show(fields, sentences);
    updatePasswordState();
    const count = Object.keys(fields).length;
    state.problem[name] = leftOver.length ? "other" : "fields";
    sectionMessages[name].show("error", t("admin.notSavedTitle"), t("admin.notSavedBody", { count: count }),
      leftOver);
    if (!errors.focusFirst(byId(name + "-section"))) {
      sectionMessages[name].focus();
    }
    announce(t("admin.notSavedTitle"));
  }

  async function save(name, event) {
    event.preventDefault();
    if (state.saving[name]) {
      return;
    }
    Object.keys(FIELDS).filter(function (path) {
      return sectionOfPath(path) === name;
    }).forEach(function (path) {
      errors.clearOne(FIELDS[path].id);
    });
    hideSectionProblem(name);
    message.hide();
    const problems = clientProblems(name);
    if (Object.keys(problems).length) {
      refusedSave(name, problems, problems);
      return;
    }
    if (!isDirty(name)) {
      state.justSaved[name] = false;
      byId(name + "-save-status").className = "section-status";
      byId(name + "-save-status").textContent = t("admin.noChanges");
      return;
    }
    const button = byId(name + "-save");
    const sent = snapshot(name);
    state.saving[name] = true;
    state.justSaved[name] = false;
    setBusy(button, true);
    updateStatus(name);
    try {
      const data = await state.api("PUT", "/admin/settings", saveBody(name));
      state.saved = data;
      // The saved section shows what the server kept; sections without edits catch up with the answer too (another
      // admin may have changed them); sections with unsaved edits keep them.
      const previewBefore = snapshot("mail") + snapshot("layout");
      SECTIONS.forEach(function (other) {
        if (other === name && snapshot(name) !== sent) {
          // Edited again while the save was on its way: those newer edits stay, as unsaved changes.
          state.baseline[name] = sent;
        } else if (other === name || !isDirty(other)) {
          fillSection(other, data);
          markClean(other);
        }
      });
      state.saving[name] = false;
      state.justSaved[name] = true;
      if (name === "smtp") {
        hideSmtpResult();
      }
      afterChange();
      if (snapshot("mail") + snapshot("layout") !== previewBefore) {
        schedulePreview();
      }
      flag("success", t("admin.savedTitle"), t("admin.savedBody"));
      announce(t("admin.sectionSavedAnnounce", { section: byId(name + "-heading").textContent }));
    } catch (error) {
      state.saving[name] = false;
      if (error.status === 403) {
        refuse();
      } else if (error.code === "invalid_settings" && error.details && error.details.fields) {
        const sentences = {
          // The server counts bytes; the form shows MB, so that range message is ours.
          "permissions.maxAttachmentBytes": t("permissions.maxAttachmentInvalid"),
        };
        if (error.details.fields["smtp.password"] && passwordNeeded()) {
          sentences["smtp.password"] = t("smtp.passwordAgainError");
        }
        const fields = error.details.fields;
        const credential = activeSecret("microsoft365");
        if (credential.key === "certificate" && fields["smtp.microsoft365.clientSecret"] &&
            !fields["smtp.microsoft365.certificate"]) {
          // "A secret is required" is about the credential, shown where the admin chose to give one.
          fields["smtp.microsoft365.certificate"] = fields["smtp.microsoft365.clientSecret"];
          delete fields["smtp.microsoft365.clientSecret"];
        }
        if (fields["smtp.microsoft365." + credential.key] && secretNeeded("microsoft365")) {
          sentences["smtp.microsoft365." + credential.key] = t(credential.againError);
        }
        if (fields["smtp.google.serviceAccountKey"] && secretNeeded("google")) {
          sentences["smtp.google.serviceAccountKey"] = t("google.keyAgainError");
        }
        refusedSave(name, error.details.fields, sentences);
      } else {
        state.problem[name] = "other";
        sectionMessages[name].show("error", t("admin.notSavedTitle"), error.message);
        sectionMessages[name].focus();
      }
    } finally {
      state.saving[name] = false;
      setBusy(button, false);
      updateStatus(name);
    }
  }

  /* ---------------------------------------------------------------- wiring */

  // Everything that follows from a change anywhere.
  function afterChange() {
    updateDependentFields();
    showDebugStatus();
    updateStatuses();
  }

  /*
   * An edit in a section: the errors it may have fixed go (the save or test tells again if not), as does the
   * section's "not saved" summary once none of its field errors is left, and a stale mail-server test result.
   */
  function edited(name, ids) {
    ids.forEach(function (id) {
      [id].concat(ALSO_CLEARS[id] || []).forEach(errors.clearOne);
    });
    state.justSaved[name] = false;
    if (state.problem[name] === "other" || (state.problem[name] === "fields" && !sectionFieldErrors(name).length)) {
      hideSectionProblem(name);
    }
    if (name === "smtp") {
      state.smtpEdits += 1;
      hideSmtpResult();
    }
    afterChange();
  }

  // The error slot id of the control an event came from (radios by their name).
  function controlId(target) {
    if (target.type === "radio") {
      return target.name;
    }
    return target.id || "";
  }

  function onEdit(event) {
    const target = event.target;
    const name = sectionOfNode(target);
    if (!name) {
      return;
    }
    if (target.name === "debug-mode" || target.id === "debug-hours") {
      state.debugTouched = true;
    }
    if (target.id === "smtp-password" && target.value) {
      byId("clear-password").checked = false;
    }
    if (target.id === "google-key-file" || target.id === "m365-certificate-file") {
      return; // the file's content arrives in its field (readCredentialFile), which counts as the edit
    }
    if (target.id === "allowed-groups-input" || target.id === "allowed-domains-input") {
      // Typing a search or a domain is not yet a change; picking one is (the picker and the chips tell).
      if (target.id === "allowed-domains-input") {
        errors.clearOne("allowed-domains-input");
      }
      return;
    }
    edited(name, [controlId(target)]);
    if (event.type === "input" && (name === "layout" || name === "mail")) {
      schedulePreview();
    }
  }

  function wire() {
    SECTIONS.forEach(function (name) {
      byId(name + "-section").addEventListener("submit", function (event) {
        save(name, event);
      });
    });
    settingsForm.addEventListener("input", onEdit);
    settingsForm.addEventListener("change", onEdit);
    byId("preview-toggle").addEventListener("click", togglePreviewText);
    byId("smtp-test").addEventListener("click", function () {
      runSmtpTest(byId("smtp-test"), "/admin/smtp/test", false);
    });
    byId("smtp-test-mail").addEventListener("click", function () {
      runSmtpTest(byId("smtp-test-mail"), "/admin/smtp/test-mail", true);
    });
    wireCredentialFiles();
    wireDomains();
  }

  function refuse() {
    settingsForm.hidden = true;
    byId("settings-intro").hidden = true;
    byId("settings-hint").hidden = true;
    message.show("warning", t("admin.notAdminTitle"), t("admin.notAdmin"));
  }

  async function main() {
    try {
      state.api = await start(root, "admin.title");
    } catch (error) {
      showLoaded(root);
      message.show("error", t("admin.loadFailed"), error.message);
      return;
    }
    state.groups = groupPicker("allowed-groups", state.api, function () {
      edited("permissions", ["allowed-groups-input"]);
    });
    let settings;
    try {
      settings = await state.api("GET", "/admin/settings");
    } catch (error) {
      showLoaded(root);
      if (error.status === 403) {
        refuse();
      } else {
        message.show("error", t("admin.loadFailed"), error.message);
      }
      return;
    }
    state.saved = settings;
    SECTIONS.forEach(function (name) {
      fillSection(name, settings);
    });
    wire();
    settingsForm.hidden = false;
    showLoaded(root);
    SECTIONS.forEach(markClean);
    afterChange();
    updatePreview();
  }

  main();
})();
