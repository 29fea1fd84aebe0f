// Checks mail HTML files against caniemail's data with doiuse-email (@jsx-email/doiuse-email) and prints, as
// JSON, each file's unsupported features per client: {"<file>": ["`<feature>` is not supported by `<client>`", ...]}.
// Run by test_mail_clients.py (which holds the allowlist); usage: node check.cjs FILE...
"use strict";

const fs = require("fs");
const { DoIUseEmail } = require("@jsx-email/doiuse-email");

// Gmail web, Outlook.com, Apple Mail (macOS and iOS), Yahoo web, Outlook for Windows. doiuse-email's own list
// has no Outlook.com entry although caniemail's data does ("outlook.outlook-com"), so the list is set directly.
const CLIENTS = [
  "gmail.desktop-webmail",
  "outlook.outlook-com",
  "apple-mail.macos",
  "apple-mail.ios",
  "yahoo.desktop-webmail",
  "outlook.windows",
];

const results = {};
for (const file of process.argv.slice(2)) {
  const checker = new DoIUseEmail({ emailClients: ["gmail.desktop-webmail"] });
  checker.emailClients = CLIENTS;
  const result = checker.check(fs.readFileSync(file, "utf8"));
  results[file] = [...new Set(result.success ? [] : result.errors)].sort();
}
process.stdout.write(JSON.stringify(results));
