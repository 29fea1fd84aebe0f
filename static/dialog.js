/*
 * The send dialog (DESIGN §1, API in §7): pick recipients, edit subject and message, choose attachments and
 * options, preview, send. Talks to Confluence only through the AP bridge and to the app only through /api
 * with a fresh context token. Builds every piece of server data with textContent, never as HTML.
 */
(function () {
  "use strict";

  const root = document.getElementById("send-dialog");
  if (!root) {
    return;
  }

  const MIN_QUERY_LENGTH = 2;
  const SEARCH_DELAY_MS = 250;
  const LOOSE_EMAIL = /^[^\s@<>(),;:"[\]]+@[^\s@<>(),;:"[\]]+\.[^\s@<>(),;:"[\]]{2,}$/;
  const LOAD_FAILED = "The send dialog couldn't be loaded. Please reload the page.";

  const config = {
    contentId: root.dataset.contentId || "",
    apiBase: root.dataset.apiBase || "/api",
    stringsUrl: root.dataset.stringsUrl || "",
    locale: root.dataset.locale || "",
  };

  // The shared page kit (static/pagemail.js): strings, the AP bridge and the JSON API.
  const pagemail = window.pagemail;
  const byId = pagemail.byId;
  const element = pagemail.element;
  const announce = pagemail.announce;
  const i18n = pagemail.i18n;
  const t = pagemail.t;
  const useLanguage = pagemail.useLanguage;
  const hostAvailable = pagemail.hostAvailable;
  const hostLocale = pagemail.hostLocale;
  const isAbort = pagemail.isAbort;

  function cloneIcon(name) {
    const template = byId("icon-" + name);
    return template ? template.content.firstElementChild.cloneNode(true) : document.createElement("span");
  }

  /* ---------------------------------------------------------------- strings */

  function humanSize(bytes) {
    const units = ["B", "KB", "MB", "GB"];
    let value = Math.max(0, Number(bytes) || 0);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    const rounded = unit === 0 ? value : Math.round(value * 10) / 10;
    return t("size." + units[unit], { n: i18n.number.format(rounded) });
  }

  /* ------------------------------------------------------ the host (AP bridge) */

  function closeDialog() {
    if (hostAvailable() && window.AP.dialog && typeof window.AP.dialog.close === "function") {
      window.AP.dialog.close();
    }
  }

  function flag(title, body) {
    pagemail.flag("success", title, body);
  }

  /* ------------------------------------------------------------------- the API */

  class DialogError extends pagemail.PagemailError {}

  const contextToken = pagemail.contextTokens(function (code) {
    return new DialogError(t(code === "no_host" ? "error.noHost" : "error.token"));
  });

  const api = pagemail.createApi(config.apiBase, contextToken, DialogError);

  /* ---------------------------------------------------------- section message */

  const message = {
    node: byId("message"),
    icon: byId("message").querySelector(".section-message-icon"),
    title: byId("message").querySelector(".section-message-title"),
    body: byId("message").querySelector(".section-message-body"),
    list: byId("message").querySelector(".section-message-list"),
  };

  const MESSAGE_ICONS = { error: "error", warning: "warning", success: "success" };

  function showMessage(kind, title, body, items) {
    message.node.className = "section-message section-message-" + kind;
    message.icon.textContent = "";
    message.icon.appendChild(cloneIcon(MESSAGE_ICONS[kind] || "error"));
    message.title.textContent = title;
    message.body.textContent = body || "";
    message.body.hidden = !body;
    message.list.textContent = "";
    (items || []).forEach(function (item) {
      message.list.appendChild(element("li", "", item));
    });
    message.list.hidden = !items || !items.length;
    message.node.hidden = false;
    message.node.scrollIntoView({ block: "nearest" });
  }

  function hideMessage() {
    message.node.hidden = true;
  }

  /* ---------------------------------------------------------- recipient picker */

  function looksLikeEmail(text) {
    return LOOSE_EMAIL.test(text);
  }

  function candidateKey(candidate) {
    const id = candidate.kind === "email" ? candidate.id.toLowerCase() : candidate.id;
    return candidate.kind + ":" + id;
  }

  function candidatesFrom(data) {
    const users = Array.isArray(data.users) ? data.users : [];
    const groups = Array.isArray(data.groups) ? data.groups : [];
    const found = [];
    users.forEach(function (user) {
      if (user && typeof user.accountId === "string" && user.accountId) {
        found.push({
          kind: "user",
          id: user.accountId,
          name: String(user.displayName || user.accountId),
          avatarUrl: typeof user.avatarUrl === "string" ? user.avatarUrl : "",
        });
      }
    });
    groups.forEach(function (group) {
      if (group && typeof group.groupId === "string" && group.groupId) {
        found.push({ kind: "group", id: group.groupId, name: String(group.name || group.groupId) });
      }
    });
    return found;
  }

  function initials(name) {
    const words = String(name).trim().split(/\s+/).filter(Boolean);
    if (words.length > 1) {
      return (words[0][0] + words[words.length - 1][0]).toUpperCase();
    }
    return (words[0] || "?").slice(0, 2).toUpperCase();
  }

  function avatar(candidate, size) {
    const className = "avatar avatar-" + size + " avatar-" + candidate.kind;
    if (candidate.kind === "group" || candidate.kind === "email") {
      const holder = element("span", className);
      holder.appendChild(cloneIcon(candidate.kind));
      return holder;
    }
    const fallback = element("span", className + " avatar-initials", initials(candidate.name));
    fallback.setAttribute("aria-hidden", "true");
    if (!/^https?:\/\//i.test(candidate.avatarUrl || "")) {
      return fallback;
    }
    const image = element("img", className);
    image.alt = "";
    image.referrerPolicy = "no-referrer";
    image.addEventListener("error", function () {
      image.replaceWith(fallback);
    });
    image.src = candidate.avatarUrl;
    return image;
  }

  const pickers = {};

  function isChosenAnywhere(candidate) {
    const key = candidateKey(candidate);
    return Object.keys(pickers).some(function (name) {
      return pickers[name].has(key);
    });
  }

  function createPicker(name, onChange) {
    const field = byId(name + "-field");
    const input = byId(name + "-input");
    const chips = byId(name + "-chips");
    const popup = byId(name + "-popup");
    const listbox = byId(name + "-listbox");
    const status = popup.querySelector(".picker-status");
    const chosen = [];
    let invalidKeys = new Set();
    let options = [];
    let statusText = "";
    let active = -1;
    let timer = 0;
    let controller = null;

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

    function renderOption(candidate, index) {
      const option = element("li", "picker-option");
      option.id = name + "-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.dataset.kind = candidate.kind;
      option.appendChild(avatar(candidate, "24"));
      const label =
        candidate.kind === "email" ? t("picker.sendTo", { address: candidate.id }) : candidate.name;
      option.appendChild(element("span", "option-name", label));
      if (candidate.kind === "group") {
        option.appendChild(element("span", "lozenge lozenge-group", t("picker.group")));
      }
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

    function showOptions(list, text) {
      options = list.filter(function (candidate) {
        return !isChosenAnywhere(candidate);
      });
      statusText = text || "";
      listbox.textContent = "";
      options.forEach(function (candidate, index) {
        listbox.appendChild(renderOption(candidate, index));
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

    function cancelSearch() {
      window.clearTimeout(timer);
      if (controller) {
        controller.abort();
        controller = null;
      }
    }

    async function search(query, base) {
      const mine = new AbortController();
      controller = mine;
      try {
        const data = await api("GET", "/recipients?query=" + encodeURIComponent(query), null, mine.signal);
        if (controller !== mine) {
          return;
        }
        controller = null;
        const found = base.concat(candidatesFrom(data));
        showOptions(found, "");
        if (!options.length) {
          showOptions([], t("picker.noMatches"));
        }
        announce(t("picker.results", { count: options.length }));
      } catch (error) {
        if (isAbort(error) || controller !== mine) {
          return;
        }
        controller = null;
        showOptions(base, t("picker.searchFailed", { message: error.message }));
      }
    }

    function onInput() {
      const query = input.value.trim();
      cancelSearch();
      field.classList.remove("has-error");
      const base = looksLikeEmail(query) ? [{ kind: "email", id: query, name: query }] : [];
      if (!query) {
        showOptions([], "");
        close();
        return;
      }
      if (query.length < MIN_QUERY_LENGTH) {
        showOptions(base, t("picker.typeMore"));
        return;
      }
      showOptions(base, t("picker.searching"));
      timer = window.setTimeout(function () {
        search(query, base);
      }, SEARCH_DELAY_MS);
    }

    function renderChips() {
      chips.textContent = "";
      chosen.forEach(function (candidate, index) {
        const chip = element("li", "chip chip-" + candidate.kind);
        if (invalidKeys.has(candidateKey(candidate))) {
          chip.classList.add("chip-invalid");
        }
        chip.appendChild(avatar(candidate, "16"));
        chip.appendChild(element("span", "chip-name", candidate.name));
        if (candidate.kind !== "user") {
          const kind = candidate.kind === "group" ? t("picker.group") : t("picker.external");
          chip.appendChild(element("span", "visually-hidden", " (" + kind + ")"));
        }
        const remove = element("button", "chip-remove");
        remove.type = "button";
        remove.setAttribute("aria-label", t("picker.remove", { name: candidate.name }));
        remove.title = t("picker.remove", { name: candidate.name });
        remove.appendChild(cloneIcon("remove"));
        remove.addEventListener("click", function () {
          removeAt(index);
          input.focus();
        });
        chip.appendChild(remove);
        chips.appendChild(chip);
      });
      chips.hidden = !chosen.length;
    }

    function add(candidate) {
      if (isChosenAnywhere(candidate)) {
        announce(t("picker.duplicate", { name: candidate.name }));
        return false;
      }
      chosen.push(candidate);
      renderChips();
      announce(t("picker.added", { name: candidate.name }));
      onChange();
      return true;
    }

    function removeAt(index) {
      const removed = chosen.splice(index, 1)[0];
      if (!removed) {
        return;
      }
      invalidKeys.delete(candidateKey(removed));
      renderChips();
      announce(t("picker.removed", { name: removed.name }));
      onChange();
    }

    function choose(index) {
      const candidate = options[index];
      if (!candidate) {
        return;
      }
      cancelSearch();
      add(candidate);
      input.value = "";
      showOptions([], "");
      close();
      input.focus();
    }

    // The typed address, or a pasted list of them ("a@example.com, b@example.com").
    function addTypedEmail() {
      const addresses = input.value.split(/[\s,;]+/).filter(Boolean);
      if (!addresses.length || !addresses.every(looksLikeEmail)) {
        return false;
      }
      cancelSearch();
      addresses.forEach(function (address) {
        add({ kind: "email", id: address, name: address });
      });
      input.value = "";
      showOptions([], "");
      close();
      return true;
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
          // Never submit the form from here: Enter picks the active suggestion or a typed address.
          event.preventDefault();
          if (isOpen() && active >= 0) {
            choose(active);
          } else {
            addTypedEmail();
          }
          break;
        case "Escape":
          if (isOpen()) {
            event.preventDefault();
            event.stopPropagation();
            close();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            cancelSearch();
            showOptions([], "");
          }
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
      // A complete address left in the box is what the user meant to add.
      addTypedEmail();
    });
    popup.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    // A click anywhere in the box (between chips) puts the caret in the input, like a text field.
    field.querySelector(".picker").addEventListener("click", function (event) {
      if (event.target === event.currentTarget || event.target === chips) {
        input.focus();
      }
    });

    return {
      name: name,
      has: function (key) {
        return chosen.some(function (candidate) {
          return candidateKey(candidate) === key;
        });
      },
      count: function () {
        return chosen.length;
      },
      find: function (key) {
        return chosen.find(function (candidate) {
          return candidateKey(candidate) === key;
        });
      },
      body: function () {
        return chosen.map(function (candidate) {
          if (candidate.kind === "user") {
            return { accountId: candidate.id };
          }
          return candidate.kind === "group" ? { groupId: candidate.id } : { email: candidate.id };
        });
      },
      markInvalid: function (keys) {
        invalidKeys = new Set(
          keys.filter(function (key) {
            return chosen.some(function (candidate) {
              return candidateKey(candidate) === key;
            });
          })
        );
        renderChips();
        return invalidKeys.size > 0;
      },
      reveal: function () {
        field.hidden = false;
      },
      focus: function () {
        input.focus();
      },
      cancel: cancelSearch,
    };
  }

  /* ------------------------------------------------------------- attachments */

  const attachments = { list: [], limit: 0, picked: new Set() };

  function attachmentMode() {
    const checked = document.querySelector('input[name="attachment-mode"]:checked');
    return checked ? checked.value : "none";
  }

  function chosenAttachments() {
    const mode = attachmentMode();
    if (mode === "all") {
      return attachments.list;
    }
    if (mode === "pick") {
      return attachments.list.filter(function (item) {
        return attachments.picked.has(item.id);
      });
    }
    return [];
  }

  function attachmentTotal() {
    return chosenAttachments().reduce(function (sum, item) {
      return sum + item.size;
    }, 0);
  }

  function attachmentsTooLarge() {
    return attachments.limit > 0 && attachmentTotal() > attachments.limit;
  }

  function renderAttachments(list, limit) {
    attachments.list = (Array.isArray(list) ? list : [])
      .filter(function (item) {
        return item && (typeof item.id === "string" || typeof item.id === "number");
      })
      .map(function (item) {
        return {
          id: String(item.id),
          title: String(item.title || item.id),
          size: Math.max(0, Number(item.size) || 0),
        };
      });
    attachments.limit = Math.max(0, Number(limit) || 0);
    const none = !attachments.list.length;
    byId("no-attachments").hidden = !none;
    byId("attachment-modes").hidden = none;
    byId("attachments-all-label").textContent = t("attachments.all", { count: attachments.list.length });
    const listNode = byId("attachment-list");
    listNode.textContent = "";
    attachments.list.forEach(function (item, index) {
      const row = element("li", "attachment");
      const label = element("label", "choice");
      const box = element("input");
      box.type = "checkbox";
      box.value = item.id;
      box.id = "attachment-" + index;
      box.addEventListener("change", function () {
        if (box.checked) {
          attachments.picked.add(item.id);
        } else {
          attachments.picked.delete(item.id);
        }
        updateAttachments();
      });
      label.appendChild(box);
      label.appendChild(element("span", "attachment-title", item.title));
      label.appendChild(element("span", "attachment-size", humanSize(item.size)));
      row.appendChild(label);
      listNode.appendChild(row);
    });
    updateAttachments();
  }

  function updateAttachments() {
    const mode = attachmentMode();
    byId("attachment-list").hidden = mode !== "pick";
    const total = byId("attachment-total");
    const over = attachmentsTooLarge();
    total.hidden = mode === "none" || !attachments.list.length;
    total.classList.toggle("is-over", over);
    const size = humanSize(attachmentTotal());
    if (over) {
      total.textContent = t("attachments.tooLarge", { size: size, limit: humanSize(attachments.limit) });
    } else if (attachments.limit > 0) {
      total.textContent = t("attachments.total", { size: size, limit: humanSize(attachments.limit) });
    } else {
      total.textContent = size;
    }
    byId("attachments-field").classList.remove("has-error");
    updateButtons();
  }

  /* ------------------------------------------------------------ dialog state */

  const buttons = {
    cancel: byId("cancel-button"),
    back: byId("back-button"),
    preview: byId("preview-button"),
    send: byId("send-button"),
    close: byId("close-button"),
  };
  const VIEW_BUTTONS = {
    loading: ["cancel"],
    closed: ["close"],
    form: ["cancel", "preview", "send"],
    preview: ["cancel", "back", "send"],
  };
  const state = { view: "loading", busy: false, sending: false, hasExcerpt: false };

  function showView(view) {
    state.view = view;
    byId("view-loading").hidden = view !== "loading";
    byId("view-form").hidden = view !== "form";
    byId("view-preview").hidden = view !== "preview";
    root.setAttribute("aria-busy", view === "loading" ? "true" : "false");
    const visible = VIEW_BUTTONS[view] || [];
    Object.keys(buttons).forEach(function (name) {
      buttons[name].hidden = visible.indexOf(name) < 0;
    });
    updateButtons();
  }

  function recipientCount() {
    return Object.keys(pickers).reduce(function (sum, name) {
      return sum + pickers[name].count();
    }, 0);
  }

  function updateButtons() {
    const editing = state.view === "form" || state.view === "preview";
    const needRecipient = editing && recipientCount() === 0;
    const tooLarge = editing && attachmentsTooLarge();
    buttons.send.disabled = state.busy || needRecipient || tooLarge;
    buttons.preview.disabled = state.busy;
    buttons.back.disabled = state.busy;
    buttons.cancel.disabled = state.sending;
    byId("form-fields").disabled = state.sending;
    let note = "";
    if (state.busy && !state.sending && state.view === "form") {
      note = t("preview.loading");
    } else if (!state.busy && needRecipient) {
      note = t("footer.needRecipient");
    } else if (!state.busy && tooLarge) {
      note = t("footer.tooLarge");
    }
    byId("footer-note").textContent = note;
  }

  function setSending(sending) {
    state.sending = sending;
    state.busy = sending;
    buttons.send.classList.toggle("is-loading", sending);
    buttons.send.setAttribute("aria-busy", sending ? "true" : "false");
    buttons.send.querySelector(".spinner").hidden = !sending;
    buttons.send.querySelector(".button-label").textContent = t(sending ? "button.sending" : "button.send");
    updateButtons();
  }

  function sendBody() {
    const mode = attachmentMode();
    let chosenFiles = "none";
    if (mode === "all" && attachments.list.length) {
      chosenFiles = "all";
    } else if (mode === "pick") {
      const ids = chosenAttachments().map(function (item) {
        return item.id;
      });
      chosenFiles = ids.length ? ids : "none";
    }
    return {
      contentId: config.contentId,
      to: pickers.to.body(),
      cc: pickers.cc.body(),
      bcc: pickers.bcc.body(),
      // One line only: the server refuses CR/LF in subjects, so never send any.
      subject: byId("subject").value.replace(/[\r\n]+/g, " ").trim(),
      message: byId("personal-message").value,
      attachments: chosenFiles,
      excerptOnly: state.hasExcerpt && byId("excerpt-only").checked,
      copyToSelf: byId("copy-to-self").checked,
    };
  }

  /* ----------------------------------------------------------- errors in fields */

  const FIELD_CONTAINERS = {
    to: "to-field",
    cc: "cc-field",
    bcc: "bcc-field",
    recipients: "to-field",
    subject: "subject-field",
    message: "message-field",
    attachments: "attachments-field",
    excerptOnly: "options-field",
    copyToSelf: "options-field",
  };

  function clearFieldErrors() {
    document.querySelectorAll(".field.has-error").forEach(function (node) {
      node.classList.remove("has-error");
    });
    document.querySelectorAll('[aria-invalid="true"]').forEach(function (node) {
      node.removeAttribute("aria-invalid");
    });
    Object.keys(pickers).forEach(function (name) {
      pickers[name].markInvalid([]);
    });
  }

  function markField(name) {
    const container = byId(FIELD_CONTAINERS[name] || "");
    if (!container) {
      return;
    }
    container.hidden = false;
    container.classList.add("has-error");
    const control = container.querySelector("input:not([type=radio]):not([type=checkbox]), textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
    }
  }

  function recipientKeyFromDetail(item) {
    if (item.accountId) {
      return "user:" + item.accountId;
    }
    if (item.groupId) {
      return "group:" + item.groupId;
    }
    return item.email ? "email:" + String(item.email).toLowerCase() : "";
  }

  // Marks the chips of the problem recipients red (and their fields); answers lines naming them and why.
  function markRecipients(list) {
    const keys = [];
    const lines = [];
    list.forEach(function (item) {
      if (typeof item === "string") {
        lines.push(item);
        return;
      }
      if (!item || typeof item !== "object") {
        return;
      }
      const key = recipientKeyFromDetail(item);
      let known = null;
      Object.keys(pickers).forEach(function (name) {
        known = known || pickers[name].find(key);
      });
      keys.push(key);
      const who = item.displayName || item.name || (known && known.name) || item.email || "";
      const why = item.reason || "";
      if (who && why) {
        lines.push(t("result.skippedItem", { name: who, reason: why }));
      } else if (item.displayName || item.name) {
        lines.push(who);
      }
    });
    let marked = false;
    Object.keys(pickers).forEach(function (name) {
      if (pickers[name].markInvalid(keys)) {
        markField(name);
        marked = true;
      }
    });
    return { lines: lines, marked: marked };
  }

  // The server names problem recipients as a list (`recipients`, `skipped`) or as one (`email`, `groupId`).
  function problemRecipients(details) {
    let found = [];
    ["recipients", "skipped"].forEach(function (name) {
      if (Array.isArray(details[name])) {
        found = found.concat(details[name]);
      }
    });
    if (details.accountId || details.groupId || details.email) {
      found.push({ accountId: details.accountId, groupId: details.groupId, email: details.email });
    }
    return found;
  }

  function showFailure(title, error) {
    const details = error instanceof DialogError ? error.details : {};
    const text = error && error.message ? error.message : t("error.badAnswer");
    const problems = markRecipients(problemRecipients(details));
    // "recipients" names no single field: the marked chips already show where the problem is.
    if (typeof details.field === "string" && !(details.field === "recipients" && problems.marked)) {
      markField(details.field);
    }
    showMessage("error", title, text, problems.lines);
  }

  /* ---------------------------------------------------------- preview and send */

  async function showPreview() {
    if (state.busy) {
      return;
    }
    hideMessage();
    clearFieldErrors();
    state.busy = true;
    updateButtons();
    try {
      const data = await api("POST", "/preview", sendBody());
      if (typeof data.html !== "string") {
        throw new DialogError(t("error.badAnswer"), 200, "bad_answer");
      }
      byId("preview-subject").textContent = typeof data.subject === "string" ? data.subject : "";
      // The mail's HTML goes only into a sandboxed frame with no scripts and an opaque origin.
      byId("preview-frame").srcdoc = data.html;
      byId("preview-text").textContent = typeof data.text === "string" ? data.text : "";
      showPreviewAs("html");
      state.busy = false; // before showView, so the buttons of the preview come up enabled
      showView("preview");
      buttons.back.focus();
    } catch (error) {
      showFailure(t("error.previewTitle"), error);
    } finally {
      state.busy = false;
      updateButtons();
    }
  }

  function showPreviewAs(kind) {
    const asText = kind === "text";
    byId("preview-frame").hidden = asText;
    byId("preview-text").hidden = !asText;
    const toggle = byId("preview-toggle");
    toggle.setAttribute("aria-pressed", asText ? "true" : "false");
    toggle.textContent = t(asText ? "preview.showHtml" : "preview.showText");
  }

  function backToForm() {
    showView("form");
    byId("to-input").focus();
  }

  function summary(data) {
    const recipients = Number(data.recipients) || 0;
    const mails = Number(data.mails) || 0;
    return t("result.sent", {
      recipients: t("result.recipients", { count: recipients }),
      mails: t("result.mails", { count: mails }),
    });
  }

  function showSent(data) {
    const skipped = Array.isArray(data.skipped) ? data.skipped : [];
    const lines = skipped
      .filter(function (item) {
        return item && typeof item === "object";
      })
      .map(function (item) {
        const name = String(item.displayName || item.accountId || "");
        return item.reason ? t("result.skippedItem", { name: name, reason: item.reason }) : name;
      });
    const text = summary(data);
    showView("closed");
    showMessage("success", t("result.title"), text, []);
    if (lines.length) {
      message.list.hidden = false;
      message.list.appendChild(element("li", "section-message-list-title", t("result.skipped")));
      lines.forEach(function (line) {
        message.list.appendChild(element("li", "", line));
      });
    }
    flag(t("flag.title"), text);
    buttons.close.focus();
  }

  async function send() {
    if (state.busy || buttons.send.disabled) {
      return;
    }
    hideMessage();
    clearFieldErrors();
    Object.keys(pickers).forEach(function (name) {
      pickers[name].cancel();
    });
    const body = sendBody();
    setSending(true);
    try {
      const data = await api("POST", "/send", body);
      if (data.sent !== true) {
        throw new DialogError(t("error.badAnswer"), 200, "bad_answer");
      }
      setSending(false);
      showSent(data);
    } catch (error) {
      setSending(false);
      const details = error instanceof DialogError ? error.details : {};
      if (state.view === "preview" && (details.field || problemRecipients(details).length)) {
        // The field to fix is on the form.
        showView("form");
      }
      showFailure(t("error.sendTitle"), error);
      buttons.send.focus();
    }
  }

  /* ------------------------------------------------------------------ set-up */

  function wireForm() {
    pickers.to = createPicker("to", updateButtons);
    pickers.cc = createPicker("cc", updateButtons);
    pickers.bcc = createPicker("bcc", updateButtons);

    function revealer(buttonId, name) {
      byId(buttonId).addEventListener("click", function () {
        pickers[name].reveal();
        byId(buttonId).hidden = true;
        byId("add-recipient-fields").hidden = byId("add-cc").hidden && byId("add-bcc").hidden;
        pickers[name].focus();
      });
    }
    revealer("add-cc", "cc");
    revealer("add-bcc", "bcc");

    const messageBox = byId("personal-message");
    const counter = byId("message-counter");
    messageBox.addEventListener("input", function () {
      const length = messageBox.value.length;
      counter.textContent = length ? t("field.counter", { count: length, max: messageBox.maxLength }) : "";
      byId("message-field").classList.remove("has-error");
    });
    byId("subject").addEventListener("input", function () {
      byId("subject-field").classList.remove("has-error");
      byId("subject").removeAttribute("aria-invalid");
    });
    document.querySelectorAll('input[name="attachment-mode"]').forEach(function (radio) {
      radio.addEventListener("change", updateAttachments);
    });
    byId("view-form").addEventListener("submit", function (event) {
      event.preventDefault();
    });
    byId("preview-toggle").addEventListener("click", function () {
      showPreviewAs(byId("preview-text").hidden ? "text" : "html");
    });
    buttons.preview.addEventListener("click", showPreview);
    buttons.back.addEventListener("click", backToForm);
    buttons.send.addEventListener("click", send);
  }

  function fillForm(setup) {
    const prefix = typeof setup.subjectPrefix === "string" ? setup.subjectPrefix.trim() : "";
    const title = typeof setup.title === "string" ? setup.title : "";
    byId("subject").value = [prefix, title]
      .filter(Boolean)
      .join(" ")
      .replace(/[\r\n]+/g, " ")
      .slice(0, 255);
    state.hasExcerpt = setup.hasExcerpt === true;
    byId("excerpt-choice").hidden = !state.hasExcerpt;
    renderAttachments(setup.attachments, setup.limit);
  }

  function showPageTitle(title) {
    const node = byId("page-title");
    node.textContent = typeof title === "string" ? title : "";
    node.hidden = !node.textContent;
  }

  async function loadStrings() {
    const response = await window.fetch(config.stringsUrl, { credentials: "omit" });
    if (!response.ok) {
      throw new Error("strings unavailable");
    }
    return response.json();
  }

  async function start() {
    buttons.cancel.addEventListener("click", closeDialog);
    buttons.close.addEventListener("click", closeDialog);
    showView("loading");

    let strings;
    let locale;
    try {
      const loaded = await Promise.all([loadStrings(), hostLocale()]);
      strings = loaded[0];
      locale = loaded[1];
    } catch (error) {
      byId("view-loading").textContent = LOAD_FAILED;
      return;
    }
    useLanguage(strings, locale || config.locale || navigator.language);
    pagemail.translatePage("title");
    wireForm();

    let setup;
    try {
      if (!config.contentId) {
        throw new DialogError(t("error.noHost"));
      }
      setup = await api("GET", "/pages/" + encodeURIComponent(config.contentId) + "/attachments");
    } catch (error) {
      showView("closed");
      showFailure(t("error.loadTitle"), error);
      return;
    }
    showPageTitle(setup.title);
    if (setup.canSend === false) {
      showView("closed");
      const reason = typeof setup.reason === "string" && setup.reason ? setup.reason : t("blocked.default");
      showMessage("warning", t("blocked.title"), reason, []);
      return;
    }
    fillForm(setup);
    showView("form");
    pickers.to.focus();
  }

  start();
})();
