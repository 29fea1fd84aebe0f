// Validates forge/manifest.yml with Atlassian's own validator (@forge/manifest, what `forge lint` runs), at the
// FULL level: schema, modules, resources (run after `npm run build`, so the Custom UI entry points are checked),
// remotes, endpoints, scopes. Exits non-zero and prints every finding when the manifest is not valid.
"use strict";

const path = require("node:path");
const { ProcessorBuilder, ValidationTypes } = require("@forge/manifest");

// The manifest's `${VARS}` as a deploy would fill them; the values only need the right shape here.
const EXAMPLES = {
  FORGE_APP_ID: "7e6b2c41-3f0a-4d5e-8b9c-1a2b3c4d5e6f",
  PAGEMAIL_REMOTE_URL: "https://pagemail.example.com",
};

async function main() {
  for (const [name, value] of Object.entries(EXAMPLES)) {
    if (!process.env[name]) {
      process.env[name] = value;
    }
  }
  const manifest = path.join(__dirname, "..", "manifest.yml");
  const result = await ProcessorBuilder.instance().withValidation(ValidationTypes.FULL).build().process(manifest);
  const findings = result.errors || [];
  for (const finding of findings) {
    console.log(`${finding.level}: ${finding.message} (line ${finding.line}, column ${finding.column})`);
  }
  if (!result.success) {
    console.log("forge/manifest.yml is NOT valid");
    process.exit(1);
  }
  console.log(`forge/manifest.yml is valid (${findings.length} finding(s) below error level)`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
