// The observer's protocol form: the control relations of the station's profile, checked as
// the observer types. The relations are fetched from the server (the library's profile as
// JSON) and evaluated by the generic evaluator; nothing about a protocol is written here.
import { attachChecks } from "./checks.js";

const form = document.getElementById("protocol-form");

async function main() {
  if (!form) return;
  const response = await fetch(form.dataset.profileUrl, { credentials: "same-origin" });
  if (!response.ok) return; // the server still checks every copy it receives
  attachChecks({
    inputs: [...form.querySelectorAll("input[data-key]")],
    list: document.getElementById("checks"),
    summary: document.getElementById("checks-summary"),
    target: form,
    profile: await response.json(),
    choiceIds: JSON.parse(form.dataset.choices),
    msg: form.dataset,
  });
}

main();
