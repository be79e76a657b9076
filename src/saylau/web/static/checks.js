// The control relations of a protocol checked as the lines are typed, for every form that
// types a protocol (the observer's page, the transcriber's page, the offline field app). The
// relations are data served from the library's profile (see relations.js); nothing about a
// particular protocol is written here.
import { classify, evaluate, parseCount } from "./relations.js";

/** Replace {name} placeholders of a translated message. */
export function fill(template, values) {
  return String(template).replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
}

/**
 * Check the relations whenever one of `inputs` changes.
 * @param {object} o
 * @param {HTMLInputElement[]} o.inputs  one per line key or choice id (data-key)
 * @param {HTMLElement} o.list  the list of relations to draw
 * @param {HTMLElement} o.summary  the one-line verdict
 * @param {HTMLElement} o.target  gets data-status = ok | soft | failed | incomplete
 * @param {object} o.profile  the profile document (lines, relations, choices_term)
 * @param {string[]} o.choiceIds  the ballot's choices
 * @param {object} o.msg  translated messages (msgOk, msgViolated, msgIncomplete, msgStrict,
 *   msgSoft, msgSummaryOk, msgSummarySoft, msgSummaryFailed)
 * @returns {() => void}  the update function (call it after filling the inputs by code)
 */
export function attachChecks({ inputs, list, summary, target, profile, choiceIds, msg }) {
  const waiting = summary.textContent;
  const optional = new Set(profile.lines.filter((l) => l.optional).map((l) => l.key));

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
      const inRelation =
        suspect.has(key) || (suspect.has(profile.choices_term) && choiceIds.includes(key));
      input.setAttribute("aria-invalid", bad || inRelation ? "true" : "false");
    }
    // a relation left open only by an optional line of the form does not hold the summary back
    const complete = results.every(
      (r) => r.status !== "incomplete" || r.lines.some((key) => optional.has(key)),
    );
    const status = classify(results);
    target.dataset.status = complete ? status : "incomplete";
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
  return update;
}
