/*
 * pagemail in one space (DESIGN §1 "Space settings"): on/off and the groups that may send, for space admins.
 * Uses static/pagemail.js and the admin kit from static/admin.js (both loaded first). Anyone who can see the
 * space may look; someone who isn't a space admin (the answer's canChange, checked as the user) sees the page
 * read-only from the start, and a refused save (a role lost meanwhile) turns it read-only too. Refusals name who
 * may send, by group name (the answer's site and space groups), rather than "certain groups".
 */
(function () {
  "use strict";

  const kit = window.pagemailAdminKit;
  const root = document.getElementById("space-settings");
  if (!kit || !root) {
    return;
  }
  const pagemail = window.pagemail;
  const byId = pagemail.byId;
  const t = pagemail.t;

  const FIELDS = {
    enabled: { id: "space-enabled", label: "space.enabled" },
    groups: { id: "space-groups-input", label: "space.groups" },
  };

  const form = byId("settings-form");
  const footer = byId("settings-footer");
  const footerNote = byId("footer-note");
  const saveButton = byId("save-button");
  const message = kit.messageBox(byId("message"));
  const errors = kit.fieldErrors(FIELDS);
  const state = {
    api: null,
    groups: null,
    enforced: false,
    readOnly: false,
    saving: false,
    snapshot: "",
    current: null, // the settings as the server last answered them
    spaceKey: "", // the space, from the host's page context (main)
  };

  function settingsPath() {
    return "/spaces/" + encodeURIComponent(state.spaceKey) + "/settings";
  }

  function snapshot() {
    return JSON.stringify([byId("space-enabled").checked, state.groups.ids()]);
  }

  function updateFooter() {
    if (!state.saving) {
      footerNote.textContent = !state.readOnly && snapshot() !== state.snapshot ? t("admin.unsaved") : "";
    }
  }

  byId("space-groups-enforced").querySelector(".inline-note-icon").appendChild(kit.icon("info"));

  // "design or engineering" (any one of the groups is enough), in the page's language.
  function groupList(groups) {
    const names = groups.map(function (group) {
      return String(group.name || group.groupId);
    });
    try {
      return new Intl.ListFormat(pagemail.i18n.lang, { style: "long", type: "disjunction" }).format(names);
    } catch (error) {
      return names.join(", ");
    }
  }

  // Who may send this space's pages under the saved settings, by group name (mail/permissions.py decides so).
  function whoMaySend(settings) {
    if (settings.enabled === false) {
      return t("space.sendersNobody");
    }
    const site = settings.site || {};
    const siteGroups = site.mode === "groups" ? (Array.isArray(site.groups) ? site.groups : []) : null;
    const own = Array.isArray(settings.groups) ? settings.groups : [];
    const spaceGroups = !settings.globalEnforced && own.length ? own : null;
    if (siteGroups && !siteGroups.length) {
      return t("space.sendersNoGroups");
    }
    if (siteGroups && spaceGroups) {
      return t("space.sendersBoth", { spaceGroups: groupList(spaceGroups), siteGroups: groupList(siteGroups) });
    }
    if (siteGroups || spaceGroups) {
      return t("space.sendersGroups", { groups: groupList(siteGroups || spaceGroups) });
    }
    return t("space.sendersEveryone");
  }

  function fill(settings) {
    state.current = settings;
    state.enforced = !!settings.globalEnforced;
    byId("space-enabled").checked = settings.enabled !== false;
    state.groups.set(settings.groups || []);
    byId("space-groups-enforced").hidden = !state.enforced;
    // The enforced note names the groups the site admin lets send (or says everyone may).
    byId("space-enforced-text").textContent = t("space.enforced") + " " + whoMaySend(settings);
    byId("space-groups-help").hidden = state.enforced;
    state.groups.setDisabled(state.enforced || state.readOnly);
    state.snapshot = snapshot();
    updateFooter();
    if (settings.canChange === false && !state.readOnly) {
      readOnly(settings);
    }
  }

  function readOnly(settings) {
    state.readOnly = true;
    byId("form-fields").disabled = true;
    state.groups.setDisabled(true);
    saveButton.disabled = true;
    footerNote.textContent = "";
    message.show("warning", t("space.notAdminTitle"), t("space.notAdmin") + " " + whoMaySend(settings || {}));
    message.focus();
  }

  // An edit after a refused save: its errors and the "nothing was saved" message go (a new save tells again).
  function edited() {
    if (state.saveProblem) {
      state.saveProblem = false;
      errors.clear();
      message.hide();
    }
    updateFooter();
  }

  async function save(event) {
    event.preventDefault();
    if (state.saving || state.readOnly) {
      return;
    }
    errors.clear();
    message.hide();
    state.saveProblem = false;
    const body = { enabled: byId("space-enabled").checked };
    // While the site admin enforces the global permissions the server refuses groups here, so none are sent.
    if (!state.enforced) {
      body.groups = state.groups.ids().map(function (id) {
        return { groupId: id };
      });
    }
    state.saving = true;
    kit.setBusy(saveButton, true);
    footerNote.textContent = t("admin.saving");
    try {
      const data = await state.api("PUT", settingsPath(), body);
      state.saving = false;
      fill(data);
      if (!pagemail.flag("success", t("space.savedTitle"), t("space.savedBody"))) {
        footerNote.textContent = t("space.savedTitle");
      }
      pagemail.announce(t("space.savedTitle"));
    } catch (error) {
      state.saving = false;
      const current = error.details && error.details.current;
      if (error.status === 403) {
        readOnly(current || state.current);
        return;
      }
      state.saveProblem = true;
      if (current && current.globalEnforced && error.details.fields && error.details.fields.groups &&
          !state.enforced) {
        // The site admin began enforcing the site-wide permissions while this page was open: show that (and who
        // may send), keep the other edit, and let the space admin save it without groups.
        const enabled = byId("space-enabled").checked;
        fill(current);
        byId("space-enabled").checked = enabled;
        updateFooter();
        message.show("error", t("admin.notSavedTitle"), t("space.enforcedNow"), [whoMaySend(current)]);
        message.focus();
      } else if (error.details && error.details.fields) {
        const leftOver = errors.show(error.details.fields);
        message.show("error", t("admin.notSavedTitle"),
          t("admin.notSavedBody", { count: Object.keys(error.details.fields).length }), leftOver);
        errors.focusFirst();
      } else {
        message.show("error", t("admin.notSavedTitle"), error.message);
        message.focus();
      }
      updateFooter();
    } finally {
      state.saving = false;
      kit.setBusy(saveButton, false);
      saveButton.disabled = state.readOnly;
    }
  }

  async function main() {
    try {
      state.api = await kit.start(root, "space.title");
      state.spaceKey = (await pagemail.pageContext()).spaceKey;
    } catch (error) {
      kit.showLoaded(root);
      message.show("error", t("space.loadFailed"), error.message);
      return;
    }
    state.groups = kit.groupPicker("space-groups", state.api, edited);
    if (!state.spaceKey) {
      kit.showLoaded(root);
      message.show("error", t("space.loadFailed"), t("space.noSpace"));
      return;
    }
    let settings;
    try {
      settings = await state.api("GET", settingsPath());
    } catch (error) {
      kit.showLoaded(root);
      message.show("error", t("space.loadFailed"), error.message);
      return;
    }
    fill(settings);
    form.addEventListener("submit", save);
    form.addEventListener("change", edited);
    form.addEventListener("input", function (event) {
      // Typing a group search is not a change yet; picking a group is (the picker tells).
      if (event.target.id !== "space-groups-input") {
        edited();
      }
    });
    form.hidden = false;
    footer.hidden = false;
    kit.showLoaded(root);
  }

  main();
})();
