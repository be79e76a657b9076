// Generic evaluator of control relations, as served by /pages/profiles/<name>.json.
// It knows nothing about any particular protocol: every relation is data
// (left and right sides as [coefficient, line key] pairs, an operator, strict or soft),
// exactly as saylau.domain.profiles defines them. The term `choices_term` stands for the
// sum of the votes for every choice on the ballot.

/** Sum one side of a relation; null when a line it needs is empty. */
function side(terms, values, choiceIds, choicesTerm) {
  let total = 0;
  for (const [coef, key] of terms) {
    let v;
    if (key === choicesTerm) {
      v = 0;
      for (const id of choiceIds) {
        const c = values[id];
        if (c === null || c === undefined || Number.isNaN(c)) return null;
        v += c;
      }
    } else {
      v = values[key];
      if (v === null || v === undefined || Number.isNaN(v)) return null;
    }
    total += coef * v;
  }
  return total;
}

/**
 * Evaluate every relation of a profile on one protocol.
 * @param {object} profile  the JSON profile document
 * @param {Object<string, number|null>} values  line key or choice id -> count (null = empty)
 * @param {string[]} choiceIds  the ballot's choices, keys of `values`
 * @returns {{name, strict, formula, lines, status, found, expected, difference}[]}
 *   status is "ok", "violated" or "incomplete" (a line it needs is still empty).
 */
export function evaluate(profile, values, choiceIds) {
  const out = [];
  for (const rel of profile.relations) {
    const left = side(rel.left, values, choiceIds, profile.choices_term);
    const right = side(rel.right, values, choiceIds, profile.choices_term);
    const lines = [...rel.left, ...rel.right].map(([, key]) => key);
    let status = "incomplete";
    if (left !== null && right !== null) {
      let holds;
      if (rel.op === "==") holds = left === right;
      else if (rel.op === ">=") holds = left >= right;
      else if (rel.op === "<=") holds = left <= right;
      else throw new Error(`unknown operator ${rel.op} in relation ${rel.name}`);
      status = holds ? "ok" : "violated";
    }
    out.push({
      name: rel.name,
      strict: rel.strict,
      formula: rel.formula,
      lines,
      status,
      found: left,
      expected: right,
      difference: left !== null && right !== null ? left - right : null,
    });
  }
  return out;
}

/** "ok", "soft" or "failed", as saylau.domain.checks classifies a protocol. */
export function classify(results) {
  if (results.some((r) => r.status === "violated" && r.strict)) return "failed";
  if (results.some((r) => r.status === "violated")) return "soft";
  return "ok";
}

/** Parse a typed count: a non-negative integer, or null when empty or not a number. */
export function parseCount(text) {
  const t = String(text ?? "").trim();
  if (t === "" || !/^\d+$/.test(t)) return null;
  return Number.parseInt(t, 10);
}
