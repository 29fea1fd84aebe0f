/*
 * pagemail in one space (DESIGN §1 "Space settings"): on/off and the groups that may send, for space admins.
 * Uses static/pagemail.js and the admin kit from static/admin.js (both loaded first). Anyone who can see the
 * space may look; the server refuses a save from someone who isn't a space admin, and the page then turns
 * read-only and says why.
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
  const state = { api: null, groups: null, enforced: false, readOnly: false, saving: false, snapshot: "" };
  const spaceKey = root.dataset.spaceKey || "";

  function settingsPath() {
    return "/spaces/" + encodeURIComponent(spaceKey) + "/settings";
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

  function fill(settings) {
    state.enforced = !!settings.globalEnforced;
    byId("space-enabled").checked = settings.enabled !== false;
    state.groups.set(settings.groups || []);
    byId("space-groups-enforced").hidden = !state.enforced;
    byId("space-groups-help").hidden = state.enforced;
    state.groups.setDisabled(state.enforced || state.readOnly);
    state.snapshot = snapshot();
    updateFooter();
  }

  function readOnly(reason) {
    state.readOnly = true;
    byId("form-fields").disabled = true;
    state.groups.setDisabled(true);
    saveButton.disabled = true;
    footerNote.textContent = "";
    message.show("warning", t("space.notAdminTitle"), reason || t("space.notAdmin"));
    message.focus();
  }

  async function save(event) {
    event.preventDefault();
    if (state.saving || state.readOnly) {
      return;
    }
    errors.clear();
    message.hide();
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
      if (error.status === 403) {
        readOnly(t("space.notAdmin"));
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
    } catch (error) {
      kit.showLoaded(root);
      message.show("error", t("space.loadFailed"), error.message);
      return;
    }
    state.groups = kit.groupPicker("space-groups", state.api, updateFooter);
    if (!spaceKey) {
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
    form.addEventListener("change", updateFooter);
    form.addEventListener("input", updateFooter);
    form.hidden = false;
    footer.hidden = false;
    kit.showLoaded(root);
  }

  main();
})();
