import { describe, expect, it } from "vitest";
import { SCREENS, screensFor } from "./nav";

describe("screensFor", () => {
  it("lists only the role's own screens", () => {
    expect(screensFor("secretary").map((s) => s.id)).toEqual(["screening", "referrals"]);
    expect(screensFor("doctor").map((s) => s.id)).toEqual(["consultations"]);
    expect(screensFor("customer_support").map((s) => s.id)).toEqual(["onboard", "faxInbox", "leads", "consent"]);
    expect(screensFor("admin").map((s) => s.id)).toEqual(["admin", "screening", "onboard", "faxInbox", "leads", "consent"]);
  });

  it("gives every screen to at least one role", () => {
    for (const screen of SCREENS) expect(screen.roles.length).toBeGreaterThan(0);
  });
});
