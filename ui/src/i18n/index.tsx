import { createContext, type ComponentChildren } from "preact";
import { useCallback, useContext, useEffect, useMemo, useState } from "preact/hooks";
import { en, type MessageKey, type Messages } from "./en";
import { nb } from "./nb";

export type { MessageKey, Messages } from "./en";

export const LANGUAGES = ["nb", "en"] as const;
export type Language = (typeof LANGUAGES)[number];

export const dictionaries: Record<Language, Messages> = { nb, en };

/** The BCP 47 locale used for dates, numbers and durations in each language. */
export const LOCALES: Record<Language, string> = { nb: "nb-NO", en: "en-GB" };

export const LANGUAGE_STORAGE_KEY = "digimed.language";

export function isLanguage(value: unknown): value is Language {
  return typeof value === "string" && (LANGUAGES as readonly string[]).includes(value);
}

/** The saved choice, else the system language when it is English, else bokmål. */
export function initialLanguage(storage: Pick<Storage, "getItem"> | undefined = safeStorage()): Language {
  const saved = storage?.getItem(LANGUAGE_STORAGE_KEY);
  if (isLanguage(saved)) return saved;
  const system = typeof navigator === "undefined" ? "" : navigator.language.toLowerCase();
  return system.startsWith("en") ? "en" : "nb";
}

function safeStorage(): Storage | undefined {
  try {
    return typeof localStorage === "undefined" ? undefined : localStorage;
  } catch {
    return undefined;
  }
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

/** Looks a key up and fills `{name}` placeholders. */
export function translate(
  language: Language,
  key: MessageKey,
  vars?: Record<string, string | number>,
): string {
  const text = dictionaries[language][key];
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

interface I18n {
  language: Language;
  locale: string;
  setLanguage: (language: Language) => void;
  t: Translate;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider(props: { children: ComponentChildren; initial?: Language }) {
  const [language, setLanguageState] = useState<Language>(() => props.initial ?? initialLanguage());

  const setLanguage = useCallback((next: Language) => {
    setLanguageState(next);
    try {
      safeStorage()?.setItem(LANGUAGE_STORAGE_KEY, next);
    } catch {
      // A full or disabled storage only means the choice is not kept for next time.
    }
  }, []);

  useEffect(() => {
    document.documentElement.lang = language;
  }, [language]);

  const value = useMemo<I18n>(
    () => ({
      language,
      locale: LOCALES[language],
      setLanguage,
      t: (key, vars) => translate(language, key, vars),
    }),
    [language, setLanguage],
  );

  return <I18nContext.Provider value={value}>{props.children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const value = useContext(I18nContext);
  if (!value) throw new Error("useI18n must be used inside <I18nProvider>");
  return value;
}
