import { deepStrictEqual, throws } from "node:assert/strict";
import {
  dbFromText,
  isPort,
  numberFromDigits,
  portFromText,
  replaceControls,
} from "./validate.ts";

Deno.test("numbers on a command line or in a URL are decimal digits only", () => {
  // Each of these is a number to Number(), and none is a way to write one here.
  for (const text of ["", " 1", "1 ", "+1", "-1", "1e3", "0x10", "1.0", "١"]) {
    deepStrictEqual([text, numberFromDigits(text, 9)], [text, NaN]);
  }
  deepStrictEqual(numberFromDigits("00080", 5), 80);
  deepStrictEqual(numberFromDigits("100000", 5), NaN);
});

Deno.test("a port is 1 to 65535, or 0 where any free port will do", () => {
  deepStrictEqual(
    [0, 1, 65535, 65536, 1.5, "80"].map((value) => [
      isPort(value),
      isPort(value, true),
    ]),
    [
      [false, true],
      [true, true],
      [true, true],
      [false, false],
      [false, false],
      [false, false],
    ],
  );
});

Deno.test("ports and db numbers from text name the flag that gave them", () => {
  deepStrictEqual([portFromText("6380"), dbFromText("2")], [6380, 2]);
  throws(
    () => portFromText("0", "--port"),
    /^RangeError: --port must be an integer from 1 to 65535: got "0"$/,
  );
  throws(
    () => dbFromText("-1", "--db"),
    /^RangeError: --db must be a non-negative integer: got "-1"$/,
  );
});

Deno.test("control characters in text made into a label become one replacement per run", () => {
  deepStrictEqual(
    replaceControls("a\n\tb\x1b[1mc\x7f", " "),
    "a b [1mc ",
  );
  deepStrictEqual(replaceControls("é ✓", " "), "é ✓");
});
