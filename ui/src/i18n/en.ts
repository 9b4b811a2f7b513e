// English. This dictionary defines the key set: every other language must provide exactly these keys.
export const en = {
  "app.name": "Digimed Console",
  "app.tagline": "Referrals, consultations and patient onboarding for Digimed clinic staff.",
  "app.version": "Version {version}",
  "app.loading": "Starting…",

  "language.label": "Language",
  "language.nb": "Norsk (bokmål)",
  "language.en": "English",

  "notice.demo": "Demo data on a private local database",
  "notice.demoDetail": "Nothing here is a real patient. Changes stay on this computer.",
  "notice.clerkLocal":
    "Clerk is not configured: patient accounts are kept in a local account directory",
  "notice.clerkLocalDetail": "Set CLERK_SECRET_KEY to create real patient login accounts.",

  "signIn.title": "Sign in",
  "signIn.subtitle": "Use your own staff login for the clinic database.",
  "signIn.server": "Server",
  "signIn.serverHint": "Database address, for example postgres://db.clinic.example:5432/digimed",
  "signIn.username": "Username",
  "signIn.password": "Password",
  "signIn.passwordSaved": "Saved password will be used",
  "signIn.passwordSavedHint":
    "A password for this login is saved in this computer's keyring. Leave Password empty to use it, or type a new one.",
  "signIn.remember": "Remember me on this computer",
  "signIn.rememberHint": "Stores the password in the operating system's keyring, never in the app.",
  "signIn.submit": "Sign in",
  "signIn.submitting": "Signing in…",
  "signIn.errorTitle": "Could not sign in",
  "signIn.keyringUnavailable": "The keyring is not available, so passwords cannot be remembered: {message}",

  "error.unauthorized": "Wrong username or password.",
  "error.database_unavailable":
    "The database cannot be reached right now; nothing was saved. Please try again.",
  "error.retryHint": "This may work if you try again in a moment.",
  "error.unexpected": "Something went wrong: {message}",

  "shell.nav": "Screens",
  "shell.signedInAs": "Signed in as {name}",
  "shell.signOut": "Sign out",
  "shell.signingOut": "Signing out…",
  "shell.placeholder": "This screen is being built. It will appear here in a coming version.",
  "shell.noScreens": "Your role has no screens in this version of the console.",

  "role.secretary": "Secretary",
  "role.doctor": "Doctor",
  "role.customer_support": "Support agent",
  "role.admin": "Administrator",

  "screen.referrals": "Referral queue",
  "screen.consultations": "My consultations",
  "screen.onboard": "Onboard patient",
  "screen.consent": "Consent status",
  "screen.admin": "Admin",
} as const satisfies Record<string, string>;

export type MessageKey = keyof typeof en;

/** A complete dictionary: a missing or unknown key is a type error. */
export type Messages = { readonly [K in MessageKey]: string };
