/**
 * A CSV reader after RFC 4180 §2: records end at CRLF (or a bare LF or CR), fields are
 * separated by commas, a field may be enclosed in double quotes and then hold commas, line
 * breaks and doubled quotes. Every record keeps the line it starts on, for precise reports.
 * A quote out of place spoils only its record; an unclosed quote spoils the rest of the file.
 */

export interface CsvRecord {
  /** The physical line (1-based) on which the record starts. */
  readonly line: number;
  readonly fields: readonly string[];
  /** Set when the record breaks RFC 4180; its fields are then not to be trusted. */
  readonly problem?: string;
}

export class CsvError extends Error {
  override readonly name = "CsvError";
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export function parseCsv(input: string): CsvRecord[] {
  const text = input.startsWith("\uFEFF") ? input.slice(1) : input; // a UTF-8 byte order mark
  const records: CsvRecord[] = [];
  let at = 0;
  let line = 1;
  const isBreak = (char: string | undefined) => char === "\n" || char === "\r";
  while (at < text.length) {
    const start = line;
    const fields: string[] = [];
    let problem: string | undefined;
    let quoted = false;
    for (;;) {
      let field = "";
      if (text[at] === '"') {
        // RFC 4180 §2.5–2.7: a quoted field; "" stands for one quote.
        quoted = true;
        at += 1;
        for (;;) {
          if (at >= text.length) throw new CsvError(start, "a quoted field is not closed (RFC 4180 §2.5)");
          const char = text[at]!;
          if (char === '"' && text[at + 1] === '"') {
            field += '"';
            at += 2;
          } else if (char === '"') {
            at += 1;
            break;
          } else {
            if (char === "\n" || (char === "\r" && text[at + 1] !== "\n")) line += 1;
            field += char;
            at += 1;
          }
        }
        if (at < text.length && text[at] !== "," && !isBreak(text[at])) {
          problem ??= `field ${fields.length + 1} has text after its closing quote (RFC 4180 §2.7)`;
          while (at < text.length && text[at] !== "," && !isBreak(text[at])) at += 1;
        }
      } else {
        while (at < text.length && text[at] !== "," && !isBreak(text[at])) {
          if (text[at] === '"')
            problem ??= `field ${fields.length + 1} holds a quote but is not enclosed in quotes (RFC 4180 §2.5)`;
          field += text[at];
          at += 1;
        }
      }
      fields.push(field);
      if (text[at] !== ",") break;
      at += 1;
    }
    if (text[at] === "\r") at += 1;
    if (text[at] === "\n") at += 1;
    line += 1;
    const blank = fields.length === 1 && fields[0] === "" && !quoted;
    if (!blank) records.push(problem ? { line: start, fields, problem } : { line: start, fields });
  }
  return records;
}
