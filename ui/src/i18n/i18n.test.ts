import { describe, expect, it } from "vitest";
import { en } from "./en";
import { nb } from "./nb";
import { initialLanguage, translate, LANGUAGE_STORAGE_KEY } from "./index";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe("dictionaries", () => {
  it("have exactly the same keys", () => {
    expect(Object.keys(nb).sort()).toEqual(Object.keys(en).sort());
  });

  it("use the same placeholders for each key and leave no text empty", () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(placeholders(nb[key]), key).toEqual(placeholders(en[key]));
      expect(nb[key].trim(), key).not.toBe("");
    }
  });

  it("fill placeholders", () => {
    expect(translate("nb", "shell.signedInAs", { name: "Kari" })).toBe("Logget inn som Kari");
    expect(translate("en", "app.version", { version: "1.2.3" })).toBe("Version 1.2.3");
  });

  it("keep the saved language choice", () => {
    expect(initialLanguage({ getItem: (k) => (k === LANGUAGE_STORAGE_KEY ? "en" : null) })).toBe("en");
    expect(initialLanguage({ getItem: (k) => (k === LANGUAGE_STORAGE_KEY ? "nb" : null) })).toBe("nb");
  });
});
