/*
 * The send dialog (DESIGN §1, API in §7): pick recipients, edit subject and message, choose attachments and
 * options, preview, send. Talks to Confluence only through its host (static/pagemail.js: the AP bridge, or the
 * Forge bridge in the Forge app) and to the app only through /api. Builds every piece of server data with
 * textContent, never as HTML.
 */
(function () {
  "use strict";

  const root = document.getElementById("send-dialog");
  if (!root) {
    return;
  }

  // Recipient changes come in bursts (a pasted list, quick picks): one summary call for the lot.
  const SUMMARY_DELAY_MS = 400;
  // The server's limit on the personal message (mail/send.py MAX_MESSAGE), counted as the server counts.
  const MAX_MESSAGE = 5000;
  const MESSAGE_WARN_FROM = 4500;
  // A double click on Send must not also answer the confirmation its first click brought up.
  const CONFIRM_ARM_MS = 600;
  // Long enough to read who got the mail; the host's flag repeats it once the dialog has gone.
  const CLOSE_AFTER_SENT_MS = 3000;
  const FIELDS = ["to", "cc", "bcc"];
  const LOAD_FAILED = "The send dialog couldn't be loaded. Please reload the page.";

  const config = {
    contentId: "", // the page to send, from the host's context (start)
    apiBase: root.dataset.apiBase || "/api",
    stringsUrl: root.dataset.stringsUrl || "",
  };

  // The shared page kit (static/pagemail.js): strings, the host and the JSON API.
  const pagemail = window.pagemail;
  const byId = pagemail.byId;
  const element = pagemail.element;
  const announce = pagemail.announce;
  const i18n = pagemail.i18n;
  const t = pagemail.t;
  const useLanguage = pagemail.useLanguage;
  const isAbort = pagemail.isAbort;

  function cloneIcon(name) {
    const template = byId("icon-" + name);
    return template ? template.content.firstElementChild.cloneNode(true) : document.createElement("span");
  }

  function setIcon(holder, name) {
    holder.textContent = "";
    holder.appendChild(cloneIcon(name));
  }

  // The array the server sent under that name, or none (never trust an answer's shape).
  function listOf(value) {
    return Array.isArray(value)
      ? value.filter(function (item) {
          return item && typeof item === "object";
        })
      : [];
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

  // Characters as the server counts them (Python: code points), so an emoji counts once, not twice.
  function characters(text) {
    return Array.from(text).length;
  }

  /* ------------------------------------------------------------- the host */

  function closeDialog() {
    window.clearTimeout(state.closeTimer);
    state.autoClosing = false;
    // The host's flag outlives the dialog: it says who got the mail once the dialog is gone.
    if (state.sentNote) {
      flag(t("flag.title"), state.sentNote);
      state.sentNote = "";
    }
    pagemail.closeDialog();
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

  const MESSAGE_ICONS = { error: "error", warning: "warning", success: "success" };

  // The page's message box (static/pagemail.js), with the icons from this page's templates.
  const message = pagemail.messageBox(byId("message"), function (kind) {
    return cloneIcon(MESSAGE_ICONS[kind] || "error");
  });

  /*
   * What the message on show is about, so that it goes once its cause is gone: the chips it marks (`keys`), the
   * fields it names (`fields`), or neither (then it was about the inputs as they were). `source` is "summary" for
   * a refusal the recipients' summary found before any send; `kind` "confirm" for the big-send question.
   */
  const banner = { kind: "", keys: [], fields: [], source: "" };

  function showMessage(kind, title, body, items) {
    banner.kind = kind;
    banner.keys = [];
    banner.fields = [];
    banner.source = "";
    message.show(kind, title, body, items);
  }

  function hideMessage() {
    message.hide();
    banner.kind = "";
    banner.keys = [];
    banner.fields = [];
    banner.source = "";
  }

  function addListTitle(text) {
    message.addItem(text, "section-message-list-title");
  }

  function addListItem(text) {
    message.addItem(text);
  }

  /* ----------------------------------------------------------- email addresses */

  /*
   * The server checks external addresses with email-validator, without SMTPUTF8 (mail/recipients.py). These rules
   * mirror it closely enough that the picker doesn't take an address the server refuses for how it is written;
   * the server's answer (the summary call) still has the last word, and marks a chip it refuses.
   */
  const LOCAL_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
  const LOCAL_PART = new RegExp("^" + LOCAL_ATOM + "(?:\\." + LOCAL_ATOM + ")*$");
  // Letters, digits and inner hyphens; non-ASCII letters for internationalized domains.
  const DOMAIN_LABEL = /^[a-z0-9\u00a1-\uffff](?:[a-z0-9\u00a1-\uffff-]*[a-z0-9\u00a1-\uffff])?$/;
  const DOMAIN_CHARS = /[a-z0-9.\u00a1-\uffff-]/g;
  // Special-use names that never receive mail (email-validator refuses them too).
  const RESERVED_DOMAINS = ["arpa", "invalid", "local", "localhost", "onion", "test"];
  const MAX_ADDRESS = 254;
  const MAX_LABEL = 63;

  function problem(key, params) {
    return t("email.problem." + key, params);
  }

  // Why `address` is not one the server takes, as a phrase for "… isn't a valid email address: <why>"; "" if fine.
  function addressProblem(address) {
    if (/\s/.test(address)) {
      return problem("spaces");
    }
    const at = address.lastIndexOf("@");
    if (at < 0) {
      return problem("noAt");
    }
    const local = address.slice(0, at);
    const domain = address.slice(at + 1).toLowerCase();
    if (!local || local.indexOf("@") >= 0) {
      return problem("local");
    }
    if (/^\.|\.$|\.\./.test(local) || /^\.|\.$|\.\./.test(domain)) {
      return problem("dots");
    }
    // No SMTPUTF8: most mail servers can't take "ü" before the @ (domains are fine, they have Punycode).
    if (/[^\x00-\x7f]/.test(local)) {
      return problem("localAscii");
    }
    if (!LOCAL_PART.test(local)) {
      return problem("local");
    }
    if (!domain) {
      return problem("noDomain");
    }
    const bad = Array.from(new Set(Array.from(domain.replace(DOMAIN_CHARS, "")))).join(" ");
    if (bad) {
      return problem("domainChars", { chars: bad });
    }
    const labels = domain.split(".");
    if (labels.length < 2) {
      return problem("noDot");
    }
    // "ab--" is kept for encodings; only Punycode ("xn--") may use it.
    if (
      labels.some(function (label) {
        return !DOMAIN_LABEL.test(label) || /^(?!xn)..--/.test(label);
      })
    ) {
      return problem("domain");
    }
    if (
      address.length > MAX_ADDRESS ||
      labels.some(function (label) {
        return label.length > MAX_LABEL;
      })
    ) {
      return problem("long");
    }
    const top = labels[labels.length - 1];
    // Every top-level domain ends with a letter: "example.123" and "host.c1" are not addresses.
    if (!/[a-z\u00a1-\uffff]$/.test(top)) {
      return problem("tld");
    }
    if (RESERVED_DOMAINS.indexOf(top) >= 0) {
      return problem("reserved", { name: top });
    }
    return "";
  }

  /*
   * Splits typed or pasted text into mailboxes: at commas, semicolons and line breaks outside quotes and angle
   * brackets (so "Okafor, Ben" <ben@example.com> stays whole), and a run of bare addresses also at spaces.
   */
  function splitAddressList(text) {
    const parts = [];
    let current = "";
    let quoted = false;
    let angled = false;
    Array.from(String(text)).forEach(function (char) {
      if (char === '"' && !angled) {
        quoted = !quoted;
      } else if (char === "<" && !quoted) {
        angled = true;
      } else if (char === ">" && !quoted) {
        angled = false;
      } else if (!quoted && !angled && /[,;\r\n\t]/.test(char)) {
        parts.push(current);
        current = "";
        return;
      }
      current += char;
    });
    parts.push(current);
    const mailboxes = [];
    parts.forEach(function (part) {
      const trimmed = part.trim();
      if (!trimmed) {
        return;
      }
      const words = trimmed.split(/\s+/);
      const bare =
        trimmed.indexOf("<") < 0 &&
        words.length > 1 &&
        words.every(function (word) {
          return word.indexOf("@") > 0;
        });
      Array.prototype.push.apply(mailboxes, bare ? words : [trimmed]);
    });
    return mailboxes;
  }

  // "Name <address>", "<address>", "mailto:address" or a bare address → {address, name, text}.
  function parseMailbox(text) {
    const named = /^(.*?)<([^<>]*)>$/.exec(text);
    if (named) {
      const name = named[1].trim().replace(/^"(.*)"$/, "$1").trim();
      return { address: named[2].trim(), name: name, text: text };
    }
    return { address: text.replace(/^mailto:/i, ""), name: "", text: text };
  }

  // The chip shows the address the mail goes to; a name from "Name <address>" only in its tooltip.
  function emailCandidate(mailbox) {
    return { kind: "email", id: mailbox.address, name: mailbox.address, label: mailbox.name };
  }

  /* ---------------------------------------------------------- recipient picker */

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
          // "" when its owner hides it: then the dialog never shows one.
          email: typeof user.email === "string" ? user.email : "",
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
  // Members per group id, from the summaries so far: a group's chip shows its count in whichever field it is.
  const groupMembers = new Map();

  function isChosenAnywhere(candidate) {
    return isKeyChosen(candidateKey(candidate));
  }

  function isKeyChosen(key) {
    return Object.keys(pickers).some(function (name) {
      return pickers[name].has(key);
    });
  }

  // What a chip's tooltip says: the visible address that tells people apart, and why it is marked.
  function chipTitle(candidate, why) {
    let title = candidate.name;
    if (candidate.kind === "user" && candidate.email) {
      title = candidate.name + " <" + candidate.email + ">";
    } else if (candidate.kind === "email" && candidate.label) {
      title = candidate.label + " <" + candidate.id + ">";
    }
    return why ? title + " — " + why : title;
  }

  /*
   * A recipient field (To, Cc or Bcc): the shared picker (pagemail.picker) searching people and groups, plus what
   * only the dialog has: typed and pasted addresses, red chips and field errors, and a pick no field may repeat.
   */
  function createPicker(name, onChange) {
    const field = byId(name + "-field");
    const errorLine = byId(name + "-error");
    let invalid = new Map(); // chip key → why it is marked red (the server's sentence, or "")
    let typedError = ""; // why the text left in the box can't be added

    const picker = pagemail.picker(name, {
      api: api,
      found: candidatesFrom,
      key: candidateKey,
      label: function (candidate) {
        return candidate.name;
      },
      taken: isChosenAnywhere,
      // Another field may have taken it since the suggestions were shown.
      accept: function (candidate) {
        if (isChosenAnywhere(candidate)) {
          announce(t("picker.duplicate", { name: candidate.name }));
          return false;
        }
        return true;
      },
      option: renderOption,
      chip: renderChip,
      removeIcon: function () {
        return cloneIcon("remove");
      },
      nothingFound: nothingFound,
      // Text with an @ is an address (or a list): Confluence finds people by name, so there is nothing to search.
      text: function (query) {
        setTypedError("");
        if (query.indexOf("@") >= 0) {
          showTyped(query);
          return true;
        }
        return false;
      },
      // Enter takes the typed address(es), or the first match (once the search answers, when it hasn't yet).
      enter: function () {
        if (input.value.indexOf("@") >= 0) {
          addTyped(input.value, true);
        } else if (picker.optionCount()) {
          picker.choose(0);
        } else if (picker.searching()) {
          picker.pickFirstWhenFound();
        }
      },
      // Only the innermost thing goes: the suggestions, then the typed text, then (document) the dialog.
      ownEscape: true,
      // A complete address left in the box is what the user meant to add; one that isn't says why.
      blur: function () {
        if (input.value.indexOf("@") >= 0) {
          addTyped(input.value, true);
          updateButtons();
        }
      },
      removed: function (candidate) {
        invalid.delete(candidateKey(candidate));
        syncError();
      },
      onChange: onChange,
    });
    const input = picker.input;

    // The field is red while one of its chips is marked or the text in its box can't be added.
    function syncError() {
      const bad = invalid.size > 0 || !!typedError;
      field.classList.toggle("has-error", bad);
      if (bad) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    }

    function setTypedError(text) {
      typedError = text || "";
      errorLine.textContent = typedError;
      errorLine.hidden = !typedError;
      syncError();
    }

    function renderOption(option, candidate) {
      option.dataset.kind = candidate.kind;
      option.appendChild(avatar(candidate, "24"));
      const label =
        candidate.kind === "email" ? t("picker.sendTo", { address: candidate.id }) : candidate.name;
      const text = element("span", "option-text");
      text.appendChild(element("span", "option-name", label));
      // Same-named people differ by their address, when Confluence shows it to this user.
      if (candidate.kind === "user" && candidate.email) {
        text.appendChild(element("span", "option-detail", candidate.email));
      }
      option.appendChild(text);
      if (candidate.kind === "group") {
        option.appendChild(element("span", "lozenge lozenge-group", t("picker.group")));
      }
    }

    // Someone already picked is "already added", not "no match": the search did find them.
    function nothingFound(found) {
      const taken = found.filter(isChosenAnywhere);
      return taken.length ? t("picker.alreadyAdded", { name: taken[0].name }) : t("picker.noMatches");
    }

    // What typed text with an @ would become: a suggestion to send to it, or why it can't be one (yet).
    function showTyped(query) {
      const mailboxes = splitAddressList(query).map(parseMailbox);
      if (mailboxes.length > 1) {
        picker.showOptions([], t("picker.addList", { count: mailboxes.length }));
        return;
      }
      const mailbox = mailboxes[0] || parseMailbox(query);
      const why = addressProblem(mailbox.address);
      if (why) {
        picker.showOptions([], t("email.invalid", { address: mailbox.address, reason: why }));
        return;
      }
      const candidate = emailCandidate(mailbox);
      if (isChosenAnywhere(candidate)) {
        picker.showOptions([], t("picker.alreadyAdded", { name: candidate.name }));
        return;
      }
      picker.showOptions([candidate], "");
    }

    function renderChip(candidate) {
      const key = candidateKey(candidate);
      const chip = element("li", "chip chip-" + candidate.kind);
      if (invalid.has(key)) {
        chip.classList.add("chip-invalid");
      }
      chip.title = chipTitle(candidate, invalid.get(key));
      chip.appendChild(avatar(candidate, "16"));
      chip.appendChild(element("span", "chip-name", candidate.name));
      const members = candidate.kind === "group" ? groupMembers.get(candidate.id) : undefined;
      if (members !== undefined) {
        // "engineering · 4": a group is as many recipients as it has members.
        const count = element("span", "chip-count", "· " + i18n.number.format(members));
        count.setAttribute("aria-hidden", "true");
        chip.appendChild(count);
      }
      if (candidate.kind !== "user") {
        let kind = candidate.kind === "group" ? t("picker.group") : t("picker.external");
        if (members !== undefined) {
          kind = t("picker.groupMembers", { count: members });
        }
        chip.appendChild(element("span", "visually-hidden", " (" + kind + ")"));
      }
      return chip;
    }

    /*
     * Adds the addresses in `text` (typed, or a pasted list) as chips. What can't be added stays in the box, and
     * with `report` the field says why; addresses already picked are only announced. Answers how many were added.
     */
    function addTyped(text, report) {
      const left = [];
      const problems = [];
      const duplicates = [];
      const added = [];
      splitAddressList(text)
        .map(parseMailbox)
        .forEach(function (mailbox) {
          const why = addressProblem(mailbox.address);
          if (why) {
            left.push(mailbox.text);
            problems.push(t("email.invalid", { address: mailbox.address, reason: why }));
            return;
          }
          const candidate = emailCandidate(mailbox);
          const key = candidateKey(candidate);
          if (
            isChosenAnywhere(candidate) ||
            added.some(function (other) {
              return candidateKey(other) === key;
            })
          ) {
            duplicates.push(candidate.name);
            return;
          }
          added.push(candidate);
        });
      if (!added.length && !duplicates.length && !report) {
        return 0;
      }
      picker.cancel();
      input.value = left.join(", ");
      picker.showOptions([], "");
      picker.close();
      picker.append(added);
      if (added.length) {
        announce(t("picker.addedCount", { count: added.length }));
      }
      setTypedError(report ? problems.join(" ") : "");
      if (duplicates.length) {
        announce(t("picker.alreadyAdded", { name: duplicates.join(", ") }));
      }
      if (added.length) {
        onChange();
      }
      return added.length;
    }

    // A pasted list ("a@x.com, b@y.org; Name <c@z.com>", or one address a line) becomes chips at once. A text
    // input would flatten the line breaks, so the list is read from the clipboard before it lands in the box.
    function onPaste(event) {
      const pasted = event.clipboardData ? event.clipboardData.getData("text") : "";
      if (pasted.indexOf("@") < 0 || (splitAddressList(pasted).length < 2 && pasted.indexOf("<") < 0)) {
        return; // a name or a single address: an ordinary paste, checked as it is typed
      }
      event.preventDefault();
      const before = input.value.slice(0, input.selectionStart);
      const after = input.value.slice(input.selectionEnd);
      addTyped(before + "\n" + pasted + "\n" + after, true);
      input.focus();
    }

    input.addEventListener("paste", onPaste);

    function find(key) {
      return picker.items().find(function (candidate) {
        return candidateKey(candidate) === key;
      });
    }

    return {
      name: name,
      has: picker.has,
      count: function () {
        return picker.items().length;
      },
      chosen: picker.items,
      find: find,
      body: function () {
        return picker.items().map(function (candidate) {
          if (candidate.kind === "user") {
            return { accountId: candidate.id };
          }
          return candidate.kind === "group" ? { groupId: candidate.id } : { email: candidate.id };
        });
      },
      // Marks these chips red (`why` in their tooltip); answers whether any of them is in this field.
      markInvalid: function (keys, why) {
        invalid = new Map();
        keys.forEach(function (key) {
          if (picker.has(key)) {
            invalid.set(key, why || "");
          }
        });
        picker.render();
        syncError();
        return invalid.size > 0;
      },
      // Whether something here must be fixed before a send: a red chip, or text that can't be added.
      hasProblem: function () {
        return invalid.size > 0 || !!typedError;
      },
      render: picker.render,
      reveal: function () {
        field.hidden = false;
      },
      focus: picker.focus,
      cancel: picker.cancel,
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
    notYet: byId("not-yet-button"),
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
  const state = {
    view: "loading",
    busy: false,
    sending: false,
    hasExcerpt: false,
    confirming: 0, // recipients the big-send question is about; 0 when it isn't asked
    arming: false, // the question was just asked: Send waits a moment before it answers it
    armTimer: 0,
    autoClosing: false,
    closeTimer: 0,
    sentNote: "", // what the host's flag says when the dialog closes after a send
    lastSend: null, // the last send's body and pick count: a retry resends it with the server's token
  };

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
    buttons.notYet.hidden = !state.confirming || (view !== "form" && view !== "preview");
    updateButtons();
  }

  function recipientCount() {
    return Object.keys(pickers).reduce(function (sum, name) {
      return sum + pickers[name].count();
    }, 0);
  }

  function recipientsMarked() {
    return Object.keys(pickers).some(function (name) {
      return pickers[name].hasProblem();
    });
  }

  function messageTooLong() {
    return characters(byId("personal-message").value) > MAX_MESSAGE;
  }

  function updateButtons() {
    const editing = state.view === "form" || state.view === "preview";
    const needRecipient = editing && recipientCount() === 0;
    const tooLarge = editing && attachmentsTooLarge();
    const tooLong = editing && messageTooLong();
    const marked = editing && recipientsMarked();
    const blocked = editing && accessBlocked();
    const checking = editing && waitingForCheck();
    buttons.send.disabled =
      state.busy || state.arming || needRecipient || tooLarge || tooLong || marked || blocked || checking;
    buttons.preview.disabled = state.busy;
    buttons.back.disabled = state.busy;
    buttons.cancel.disabled = state.sending;
    buttons.notYet.disabled = state.sending;
    byId("form-fields").disabled = state.sending;
    let note = "";
    if (state.busy && !state.sending && state.view === "form") {
      note = t("preview.loading");
    } else if (state.view === "closed" && state.autoClosing) {
      note = t("result.closing");
    } else if (state.busy) {
      note = "";
    } else if (needRecipient) {
      note = t("footer.needRecipient");
    } else if (marked) {
      note = t("footer.marked");
    } else if (blocked) {
      note = t("footer.blocked");
    } else if (tooLarge) {
      note = t("footer.tooLarge");
    } else if (tooLong) {
      note = t("footer.tooLong");
    } else if (checking) {
      note = t("footer.checking");
    }
    byId("footer-note").textContent = note;
  }

  function setSending(sending) {
    state.sending = sending;
    state.busy = sending;
    buttons.send.classList.toggle("is-loading", sending);
    buttons.send.setAttribute("aria-busy", sending ? "true" : "false");
    buttons.send.querySelector(".spinner").hidden = !sending;
    setSendLabel(t(sending ? "button.sending" : "button.send"));
    updateButtons();
  }

  function setSendLabel(text) {
    buttons.send.querySelector(".button-label").textContent = text;
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

  /*
   * Something the user can change changed (`what`: "recipients" or a field name). The big-send question was about
   * the inputs as they were, so it goes; so does an error whose cause is gone: all the chips it marked removed, the
   * field it named edited, or (an error about no particular input) any change at all.
   */
  function inputsChanged(what) {
    leaveConfirm();
    if (banner.kind !== "error") {
      return;
    }
    if (banner.keys.length) {
      if (!banner.keys.some(isKeyChosen)) {
        hideMessage();
      }
    } else if (banner.fields.length) {
      if (
        banner.fields.some(function (field) {
          return inputOf(field) === what;
        })
      ) {
        hideMessage();
      }
    } else {
      hideMessage();
    }
  }

  function inputOf(field) {
    return ["to", "cc", "bcc", "recipients"].indexOf(field) >= 0 ? "recipients" : field;
  }

  function recipientsChanged() {
    inputsChanged("recipients");
    scheduleSummary();
  }

  /* --------------------------------------------- who the picks reach (guard-rails) */

  // The server's summary of the current picks (POST /api/recipients/summary), asked again after every change.
  const summary = { timer: 0, controller: null, pending: false, data: null, policy: "" };

  function scheduleSummary() {
    window.clearTimeout(summary.timer);
    if (summary.controller) {
      summary.controller.abort();
      summary.controller = null;
    }
    // What the last answer said is about other picks now: it goes at once, not when the next one arrives.
    showSummary(null);
    summary.pending = recipientCount() > 0;
    if (summary.pending) {
      summary.timer = window.setTimeout(fetchSummary, SUMMARY_DELAY_MS);
    }
    updateButtons();
  }

  async function fetchSummary() {
    const mine = new AbortController();
    summary.controller = mine;
    const body = {
      contentId: config.contentId,
      to: pickers.to.body(),
      cc: pickers.cc.body(),
      bcc: pickers.bcc.body(),
    };
    try {
      const data = await api("POST", "/recipients/summary", body, mine.signal);
      if (summary.controller !== mine) {
        return;
      }
      summary.controller = null;
      summary.pending = false;
      summaryAnswered(data);
    } catch (error) {
      if (isAbort(error) || summary.controller !== mine) {
        return;
      }
      summary.controller = null;
      summary.pending = false;
      summaryFailed(error);
    }
    updateButtons();
  }

  function summaryAnswered(data) {
    listOf(data.groups).forEach(function (group) {
      groupMembers.set(String(group.groupId), Math.max(0, Number(group.members) || 0));
    });
    Object.keys(pickers).forEach(function (name) {
      pickers[name].render();
    });
    // A refusal an earlier summary showed is gone with the picks it was about.
    if (banner.source === "summary") {
      hideMessage();
    }
    summary.policy = data.withoutAccess === "block" ? "block" : "warn";
    showSummary(data);
  }

  function summaryFailed(error) {
    const details = error instanceof DialogError ? error.details : {};
    // A recipient the server refuses (its own check of an address, the admin's rules) is shown as a failed send
    // would show it: the server's sentence, the chip red. Anything else (the network, a rate limit) only leaves
    // the summary out: the send checks everything again.
    if (state.view === "form" && problemRecipients(details).length) {
      showFailure(t("error.recipientsTitle"), error);
      banner.source = "summary";
    }
  }

  function showSummary(data) {
    summary.data = data;
    const line = byId("recipient-summary");
    const notice = byId("access-notice");
    if (!data) {
      line.hidden = true;
      notice.hidden = true;
      return;
    }
    const count = Math.max(0, Number(data.recipients) || 0);
    let text = t("summary.reach", { recipients: t("result.recipients", { count: count }) });
    const skipped = listOf(data.skipped).map(function (item) {
      return String(item.displayName || item.accountId || "");
    });
    if (skipped.length) {
      text += " " + t("summary.skipped", { count: skipped.length, names: skipped.join(", ") });
    }
    line.textContent = text;
    line.hidden = false;
    const cannotView = Math.max(0, Number(data.cannotView) || 0);
    notice.hidden = !cannotView;
    if (cannotView) {
      const blocking = data.withoutAccess === "block";
      notice.className = "inline-message inline-message-" + (blocking ? "error" : "warning");
      notice.setAttribute("role", blocking ? "alert" : "status");
      setIcon(notice.querySelector(".inline-message-icon"), blocking ? "error" : "warning");
      byId("access-notice-title").textContent = t("access.title", { count: cannotView });
      byId("access-notice-body").textContent = t(blocking ? "access.block" : "access.warn");
    }
  }

  // The admin refuses sends to people who can't open the page, and the current picks include some.
  function accessBlocked() {
    return !!summary.data && summary.data.withoutAccess === "block" && Number(summary.data.cannotView) > 0;
  }

  // Where the admin blocks such sends, Send waits for the check of the current picks.
  function waitingForCheck() {
    return summary.pending && summary.policy === "block";
  }

  function needsConfirmation() {
    return !!summary.data && summary.data.needsConfirmation === true;
  }

  function groupLines(groups) {
    return listOf(groups).map(function (group) {
      return t("summary.groupMembers", { name: String(group.name || ""), count: Number(group.members) || 0 });
    });
  }

  // Above the admin's threshold Send first asks; only a second, deliberate click sends (with `confirmed`).
  function askToConfirm(count, threshold) {
    state.confirming = Math.max(1, Number(count) || 0);
    const groups = summary.data ? summary.data.groups : [];
    showMessage(
      "warning",
      t("confirm.title", { count: state.confirming }),
      t("confirm.body", { threshold: Number(threshold) || 0 }),
      groupLines(groups)
    );
    banner.kind = "confirm";
    setSendLabel(t("confirm.button", { count: state.confirming }));
    buttons.notYet.hidden = false;
    state.arming = true;
    window.clearTimeout(state.armTimer);
    state.armTimer = window.setTimeout(function () {
      state.arming = false;
      updateButtons();
    }, CONFIRM_ARM_MS);
    updateButtons();
    buttons.notYet.focus();
  }

  function leaveConfirm() {
    if (!state.confirming) {
      return;
    }
    state.confirming = 0;
    state.arming = false;
    window.clearTimeout(state.armTimer);
    buttons.notYet.hidden = true;
    setSendLabel(t("button.send"));
    if (banner.kind === "confirm") {
      hideMessage();
    }
    updateButtons();
  }

  /* ------------------------------------------------------------ message box */

  // Grows with its text (the CSS max-height caps it; it scrolls from there).
  function fitMessageBox(box) {
    box.style.height = "auto";
    box.style.height = box.scrollHeight + (box.offsetHeight - box.clientHeight) + "px";
  }

  // Counts down from MESSAGE_WARN_FROM and flags a text over the limit; never cuts it (the user decides where).
  function updateMessageBox() {
    const box = byId("personal-message");
    fitMessageBox(box);
    const length = characters(box.value);
    const over = length > MAX_MESSAGE;
    const near = !over && length >= MESSAGE_WARN_FROM;
    const counter = byId("message-counter");
    let text = "";
    if (over) {
      text = t("message.over", { count: length - MAX_MESSAGE });
    } else if (near) {
      text = t("message.left", { count: MAX_MESSAGE - length });
    }
    counter.textContent = text;
    counter.classList.toggle("is-near", near);
    counter.classList.toggle("is-over", over);
    byId("message-field").classList.toggle("has-error", over);
    if (over) {
      box.setAttribute("aria-invalid", "true");
    } else {
      box.removeAttribute("aria-invalid");
    }
    updateButtons();
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

  function reasonText(reason) {
    const key = "reason." + reason;
    const text = t(key);
    return text === key ? reason : text;
  }

  /*
   * Marks the chips of the problem recipients red (and their fields), with `why` in their tooltips; answers the
   * lines naming them and why, whether a chip was marked, and the marked chips' keys.
   */
  function markRecipients(list, why) {
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
      const reason = item.reason ? reasonText(item.reason) : "";
      if (who && reason) {
        lines.push(t("result.skippedItem", { name: who, reason: reason }));
      } else if (item.displayName || item.name) {
        lines.push(who);
      }
    });
    let marked = false;
    Object.keys(pickers).forEach(function (name) {
      if (pickers[name].markInvalid(keys, why)) {
        markField(name);
        marked = true;
      }
    });
    return { lines: lines, marked: marked, keys: keys.filter(isKeyChosen) };
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
    const named = problemRecipients(details);
    // One named recipient: the server's sentence is about that chip, so its tooltip says it too.
    const problems = markRecipients(named, named.length === 1 ? text : "");
    // "recipients" names no single field: the marked chips already show where the problem is.
    const field = typeof details.field === "string" ? details.field : "";
    if (field && !(field === "recipients" && problems.marked)) {
      markField(field);
    }
    showMessage("error", title, text, problems.lines);
    banner.keys = problems.keys;
    banner.fields = field && !problems.keys.length ? [field] : [];
  }

  /* ---------------------------------------------------------- preview and send */

  // How the preview names a recipient: groups by name, people by name with only the address Confluence shows
  // this user (a hidden one stays hidden here too), external addresses as typed.
  function recipientLabel(candidate) {
    if (candidate.kind === "group") {
      const members = groupMembers.get(candidate.id);
      return members === undefined ? candidate.name : t("preview.group", { name: candidate.name, count: members });
    }
    if (candidate.kind === "user") {
      return candidate.email ? candidate.name + " <" + candidate.email + ">" : candidate.name;
    }
    return candidate.id;
  }

  function showPreviewDetails(data) {
    FIELDS.forEach(function (name) {
      const chosen = pickers[name].chosen();
      byId("preview-row-" + name).hidden = !chosen.length;
      byId("preview-" + name).textContent = chosen.map(recipientLabel).join(", ");
    });
    const files = listOf(data.attachments);
    byId("preview-row-attachments").hidden = !files.length;
    byId("preview-attachments").textContent = files
      .map(function (file) {
        return t("preview.attachment", { title: String(file.title || ""), size: humanSize(file.size) });
      })
      .join(", ");
    const images = Math.max(0, Number(data.images) || 0);
    byId("preview-size").textContent = t(images ? "preview.sizeImages" : "preview.size", {
      size: humanSize(data.mailBytes),
      count: images,
    });
    // Gmail cuts a mail's HTML off above its limit and hides the rest behind a link; so the renderer itself ends a
    // long page at a block boundary, with a link to the rest in Confluence. Either way the sender is told.
    const truncated = data.truncated === true;
    byId("preview-clip").hidden = data.clipped !== true && !truncated;
    byId("preview-clip-title").textContent = truncated
      ? t("preview.truncated")
      : t("preview.clipped", { size: humanSize(data.htmlBytes), limit: humanSize(data.gmailClipBytes) });
    byId("preview-clip-help").textContent = t(truncated ? "preview.truncatedHelp" : "preview.clipHelp");
  }

  async function showPreview() {
    if (state.busy) {
      return;
    }
    hideMessage();
    leaveConfirm();
    clearFieldErrors();
    state.busy = true;
    updateButtons();
    try {
      const data = await api("POST", "/preview", sendBody());
      if (typeof data.html !== "string") {
        throw new DialogError(t("error.badAnswer"), 200, "bad_answer");
      }
      byId("preview-subject").textContent = typeof data.subject === "string" ? data.subject : "";
      showPreviewDetails(data);
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
    leaveConfirm();
    showView("form");
    byId("to-input").focus();
  }

  // "Sent to 6 recipients: To 4 (engineering), Cc 1, Bcc 1; a copy to you."
  function sentSentence(data) {
    const count = Math.max(0, Number(data.recipients) || 0);
    const byField = data.byField && typeof data.byField === "object" ? data.byField : {};
    const groups = listOf(data.groups);
    const parts = FIELDS.filter(function (name) {
      return Number(byField[name]) > 0;
    }).map(function (name) {
      const part = t("result.field", { field: t("field." + name), count: i18n.number.format(Number(byField[name])) });
      const names = groups
        .filter(function (group) {
          return group.field === name;
        })
        .map(function (group) {
          return String(group.name || "");
        });
      return names.length ? t("result.fieldGroups", { part: part, groups: names.join(", ") }) : part;
    });
    const copy = data.copyToSelf === true;
    if (!count) {
      return t(copy ? "result.onlyCopy" : "result.nobody");
    }
    return t(copy ? "result.sentWithCopy" : "result.sent", {
      recipients: t("result.recipients", { count: count }),
      fields: parts.join(", "),
    });
  }

  /*
   * Why the recipients are not the chips one by one: each group stands for its members, and a person picked
   * twice (by hand and through a group) gets one mail.
   */
  function explainRecipients(data, picks) {
    const count = Math.max(0, Number(data.recipients) || 0);
    if (count === picks) {
      return;
    }
    const groups = listOf(data.groups);
    addListTitle(
      t("result.why", {
        picks: t("result.picks", { count: picks }),
        recipients: t("result.recipients", { count: count }),
      })
    );
    groupLines(groups).forEach(addListItem);
    const members = groups.reduce(function (sum, group) {
      return sum + (Number(group.members) || 0);
    }, 0);
    const reached = count + listOf(data.skipped).length + (Number(data.refused) || 0);
    if (picks - groups.length + members > reached) {
      addListItem(t("result.once"));
    }
  }

  function showSent(data, picks) {
    const skipped = listOf(data.skipped).map(function (item) {
      const name = String(item.displayName || item.accountId || "");
      return item.reason ? t("result.skippedItem", { name: name, reason: reasonText(item.reason) }) : name;
    });
    const refused = Math.max(0, Number(data.refused) || 0);
    const text = sentSentence(data);
    showView("closed");
    showMessage("success", t("result.title"), text, []);
    explainRecipients(data, picks);
    const unlisted = Math.max(0, Number(data.unlisted) || 0);
    if (unlisted) {
      addListItem(t("result.unlisted", { count: unlisted }));
    }
    if (skipped.length) {
      addListTitle(t("result.skipped"));
      skipped.forEach(addListItem);
    }
    if (refused) {
      addListItem(t("result.refused", { count: refused }));
    }
    const missed = Math.max(0, Number(data.notDelivered) || 0);
    if (data.partial === true && missed && typeof data.retry === "string") {
      offerRetry(missed, data.retry);
    }
    state.sentNote = text;
    // All went as asked: the dialog goes by itself and the host's flag keeps the news. Someone left out is worth
    // reading in full, so then the dialog stays until it is closed.
    if (!skipped.length && !refused && !missed) {
      state.autoClosing = true;
      state.closeTimer = window.setTimeout(closeDialog, CLOSE_AFTER_SENT_MS);
    }
    updateButtons();
    buttons.close.focus();
  }

  /*
   * Some mails of a split send were not delivered: the server's sealed `retry` sends the same body again to those
   * addresses only, so nobody gets the page twice.
   */
  function offerRetry(missed, token) {
    addListItem(t("result.notDelivered", { count: missed }));
    const retry = element("button", "aui-button", t("result.retryRest"));
    retry.type = "button";
    retry.id = "retry-rest";
    retry.addEventListener("click", async function () {
      if (state.busy || !state.lastSend) {
        return;
      }
      retry.disabled = true;
      setSending(true);
      try {
        const body = Object.assign({}, state.lastSend.body, { retry: token, confirmed: true });
        const data = await api("POST", "/send", body);
        setSending(false);
        showSent(data, state.lastSend.picks);
      } catch (error) {
        setSending(false);
        retry.disabled = false;
        showFailure(t("error.sendTitle"), error);
      }
    });
    const item = element("li", "pm-retry");
    item.appendChild(retry);
    message.list.appendChild(item);
  }

  async function send() {
    if (state.busy || buttons.send.disabled) {
      return;
    }
    const confirmed = state.confirming > 0;
    if (!confirmed && needsConfirmation()) {
      askToConfirm(summary.data.recipients, summary.data.confirmAbove);
      return;
    }
    leaveConfirm();
    hideMessage();
    clearFieldErrors();
    Object.keys(pickers).forEach(function (name) {
      pickers[name].cancel();
    });
    const body = sendBody();
    if (confirmed) {
      body.confirmed = true;
    }
    const picks = recipientCount();
    state.lastSend = { body: body, picks: picks };
    setSending(true);
    try {
      const data = await api("POST", "/send", body);
      if (data.sent !== true) {
        throw new DialogError(t("error.badAnswer"), 200, "bad_answer");
      }
      setSending(false);
      showSent(data, picks);
    } catch (error) {
      setSending(false);
      const details = error instanceof DialogError ? error.details : {};
      if (error instanceof DialogError && error.code === "confirmation_required") {
        // The summary hadn't caught up with the picks: the server asks the same question.
        askToConfirm(details.recipients, details.threshold);
        return;
      }
      if (state.view === "preview" && (details.field || problemRecipients(details).length)) {
        // The field to fix is on the form.
        showView("form");
      }
      showFailure(t("error.sendTitle"), error);
      if (error instanceof DialogError && error.code === "recipients_cannot_view") {
        scheduleSummary(); // shows the notice that explains it, and keeps Send off until it is fixed
      }
      buttons.send.focus();
    }
  }

  /* ------------------------------------------------------------------ set-up */

  function wireForm() {
    pickers.to = createPicker("to", recipientsChanged);
    pickers.cc = createPicker("cc", recipientsChanged);
    pickers.bcc = createPicker("bcc", recipientsChanged);

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

    byId("personal-message").addEventListener("input", function () {
      updateMessageBox();
      inputsChanged("message");
    });
    byId("subject").addEventListener("input", function () {
      byId("subject-field").classList.remove("has-error");
      byId("subject").removeAttribute("aria-invalid");
      inputsChanged("subject");
    });
    document.querySelectorAll('input[name="attachment-mode"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        updateAttachments();
        inputsChanged("attachments");
      });
    });
    byId("attachment-list").addEventListener("change", function () {
      inputsChanged("attachments");
    });
    [
      ["excerpt-only", "excerptOnly"],
      ["copy-to-self", "copyToSelf"],
    ].forEach(function (pair) {
      byId(pair[0]).addEventListener("change", function () {
        byId("options-field").classList.remove("has-error");
        inputsChanged(pair[1]);
      });
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
    buttons.notYet.addEventListener("click", function () {
      leaveConfirm();
      buttons.send.focus();
    });
    setIcon(byId("preview-clip").querySelector(".inline-message-icon"), "warning");
  }

  // Escape closes the dialog, as Cancel does; a big-send question open is answered "not yet" first. A send in
  // flight is never left without its answer.
  function onEscape(event) {
    if (event.key !== "Escape" || event.defaultPrevented || state.sending) {
      return;
    }
    event.preventDefault();
    if (state.confirming) {
      leaveConfirm();
      buttons.send.focus();
      return;
    }
    closeDialog();
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
    document.addEventListener("keydown", onEscape);
    showView("loading");

    let strings;
    let context;
    try {
      const loaded = await Promise.all([loadStrings(), pagemail.pageContext()]);
      strings = loaded[0];
      context = loaded[1];
    } catch (error) {
      byId("view-loading").textContent = LOAD_FAILED;
      return;
    }
    config.contentId = context.contentId;
    useLanguage(strings, context.locale || navigator.language);
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
