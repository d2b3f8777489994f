/**
 * The portal speaks Chinese and English. The language comes from the `gca_lang` cookie the
 * switcher sets, else from Accept-Language (RFC 9110 §12.5.4, q-values honoured), else Chinese:
 * the users are Chinese civil servants.
 */
import { EN } from "./messages/en.js";
import { type MessageKey, ZH } from "./messages/zh.js";

export type Language = "zh" | "en";
export const LANGUAGES: readonly Language[] = ["zh", "en"];
export const LANGUAGE_COOKIE = "gca_lang";

const CATALOGUES: Readonly<Record<Language, Readonly<Record<MessageKey, string>>>> = { zh: ZH, en: EN };

export type Translate = (key: MessageKey, params?: Readonly<Record<string, string | number>>) => string;

/** The message in `language`, with `{name}` placeholders filled. */
export function translator(language: Language): Translate {
  const catalogue = CATALOGUES[language];
  return (key, params) =>
    catalogue[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
      params && name in params ? String(params[name]) : whole,
    );
}

export const isLanguage = (value: unknown): value is Language => value === "zh" || value === "en";

/** RFC 9110 §12.5.4: the supported language with the highest q (ties: the header's order). */
export function negotiateLanguage(cookie: string | undefined, acceptLanguage: string | undefined): Language {
  if (isLanguage(cookie)) return cookie;
  let best: { language: Language; q: number } | undefined;
  for (const part of (acceptLanguage ?? "").split(",")) {
    const [range, ...parameters] = part.trim().toLowerCase().split(";");
    const primary = range?.split("-")[0];
    if (!isLanguage(primary)) continue;
    const qParameter = parameters.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParameter ? Number(qParameter.slice(2)) : 1;
    if (Number.isFinite(q) && q > 0 && (!best || q > best.q)) best = { language: primary, q };
  }
  return best?.language ?? "zh";
}
