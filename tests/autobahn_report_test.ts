/**
 * `deno task autobahn`'s arithmetic: which cases `--cases` names, and the
 * summary of a report (counts per group, cases not passed, cases one
 * agent fails that another passes). The run itself needs CPython 2.7 and
 * minutes; it is a tool, not a test.
 */
import assert from "node:assert/strict";
import { casePatterns } from "../tools/autobahn.ts";
import {
  byCaseId,
  type CaseResult,
  regressions,
  summarize,
} from "../tools/autobahn_report.ts";

const ok: CaseResult = { behavior: "OK", behaviorClose: "OK", duration: 1 };
const result = (behavior: string, behaviorClose = "OK"): CaseResult => ({
  behavior,
  behaviorClose,
  duration: 1,
  remoteCloseCode: 1007,
});

Deno.test("autobahn: --cases takes group ranges, groups and patterns", () => {
  assert.deepEqual(casePatterns("1-3"), ["1.*", "2.*", "3.*"]);
  assert.deepEqual(casePatterns("1-2,9,6.4.*"), ["1.*", "2.*", "9.*", "6.4.*"]);
  assert.deepEqual(
    ["9.1.6", "1.1.10", "1.1.2", "10.1.1", "2.1"].sort(byCaseId),
    ["1.1.2", "1.1.10", "2.1", "9.1.6", "10.1.1"],
  );
});

Deno.test("autobahn: the summary counts verdicts per group and names what one agent fails that another passes", () => {
  const index = {
    own: {
      "6.4.3": ok,
      "6.4.4": ok,
      "7.1.6": result("INFORMATIONAL", "INFORMATIONAL"),
      "1.2.1": result("FAILED", "WRONG CODE"),
    },
    runtime: {
      "6.4.3": result("NON-STRICT"),
      "6.4.4": result("NON-STRICT"),
      "7.1.6": result("INFORMATIONAL", "INFORMATIONAL"),
      "1.2.1": ok,
    },
  };
  assert.deepEqual(regressions(index.own, index.runtime), ["1.2.1"]);
  assert.deepEqual(regressions(index.runtime, index.own), ["6.4.3", "6.4.4"]);
  const text = summarize(index);
  assert.match(text, /^own: 4 cases$/m);
  assert.match(text, /^ {2}6 +2 +0 +0 +0 +0$/m);
  assert.match(text, /^ {2}all +2 +0 +1 +0 +1$/m);
  assert.match(text, /not passed: 1\.2\.1 FAILED\/WRONG CODE \(close 1007\)/);
  assert.match(text, /own fails what runtime passes: 1\.2\.1/);
  assert.match(text, /runtime fails what own passes: 6\.4\.3, 6\.4\.4/);
});
