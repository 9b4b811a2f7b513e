import type { AppRole } from "./bindings";
import type { MessageKey } from "./i18n";

export type ScreenId = "screening" | "referrals" | "consultations" | "onboard" | "faxInbox" | "leads" | "consent" | "admin";

export interface ScreenInfo {
  id: ScreenId;
  title: MessageKey;
  /** The roles that see this screen in the navigation. The database still decides what each role may do. */
  roles: readonly AppRole[];
}

export const SCREENS: readonly ScreenInfo[] = [
  // A secretary's day starts with the referrals to screen; an admin's with their own screen.
  { id: "screening", title: "screen.screening", roles: ["secretary"] },
  { id: "referrals", title: "screen.referrals", roles: ["secretary"] },
  { id: "consultations", title: "screen.consultations", roles: ["doctor"] },
  { id: "admin", title: "screen.admin", roles: ["admin"] },
  { id: "screening", title: "screen.screening", roles: ["admin"] },
  { id: "onboard", title: "screen.onboard", roles: ["customer_support", "admin"] },
  { id: "faxInbox", title: "screen.faxInbox", roles: ["customer_support", "admin"] },
  { id: "leads", title: "screen.leads", roles: ["customer_support", "admin"] },
  { id: "consent", title: "screen.consent", roles: ["customer_support", "admin"] },
];

export function screensFor(role: AppRole): ScreenInfo[] {
  return SCREENS.filter((screen) => screen.roles.includes(role));
}
