// The observer's protocol form: the control relations of the station's profile, checked as
// the observer types. The relations are fetched from the server (the library's profile as
// JSON) and evaluated by the generic evaluator; nothing about a protocol is written here.
import { classify, evaluate, parseCount } from "./relations.js";

const form = document.getElementById("protocol-form");

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
}

async function main() {
  if (!form) return;
  const response = await fetch(form.dataset.profileUrl, { credentials: "same-origin" });
  if (!response.ok) return; // the server still checks every copy it receives
  const profile = await response.json();
  const choiceIds = JSON.parse(form.dataset.choices);
  const inputs = [...form.querySelectorAll("input[data-key]")];
  const list = document.getElementById("checks");
  const summary = document.getElementById("checks-summary");
  const msg = form.dataset;
  const waiting = summary.textContent;

  function update() {
    const values = {};
    for (const input of inputs) values[input.dataset.key] = parseCount(input.value);
    const results = evaluate(profile, values, choiceIds);
    const suspect = new Set();
    list.replaceChildren();
    for (const r of results) {
      const li = document.createElement("li");
      li.dataset.relation = r.name;
      li.className = `${r.status} ${r.strict ? "strict" : "soft"}`;
      const text =
        r.status === "ok"
          ? msg.msgOk
          : r.status === "violated"
            ? fill(msg.msgViolated, r)
            : msg.msgIncomplete;
      li.textContent = `${r.formula}: ${text} · ${r.strict ? msg.msgStrict : msg.msgSoft}`;
      list.append(li);
      if (r.status === "violated") for (const key of r.lines) suspect.add(key);
    }
    for (const input of inputs) {
      const bad = input.value.trim() !== "" && parseCount(input.value) === null;
      const key = input.dataset.key;
      const inRelation = suspect.has(key) || (suspect.has(profile.choices_term) && choiceIds.includes(key));
      input.setAttribute("aria-invalid", bad || inRelation ? "true" : "false");
    }
    // a relation left open only by an optional line of the form does not hold the summary back
    const optional = new Set(profile.lines.filter((l) => l.optional).map((l) => l.key));
    const complete = results.every(
      (r) => r.status !== "incomplete" || r.lines.some((key) => optional.has(key)),
    );
    const status = classify(results);
    form.dataset.status = complete ? status : "incomplete";
    summary.className = complete ? `status ${status}` : "muted";
    summary.textContent = !complete
      ? waiting
      : status === "ok"
        ? msg.msgSummaryOk
        : status === "soft"
          ? msg.msgSummarySoft
          : msg.msgSummaryFailed;
  }

  for (const input of inputs) input.addEventListener("input", update);
  update();
}

main();
