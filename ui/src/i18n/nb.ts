import type { Messages } from "./en";

// Norsk bokmål.
export const nb: Messages = {
  "app.name": "Digimed Console",
  "app.tagline": "Henvisninger, konsultasjoner og pasientregistrering for ansatte i Digimed-klinikken.",
  "app.version": "Versjon {version}",
  "app.loading": "Starter …",

  "language.label": "Språk",
  "language.nb": "Norsk (bokmål)",
  "language.en": "English",

  "notice.demo": "Demodata i en privat, lokal database",
  "notice.demoDetail": "Ingen av pasientene her er ekte. Endringer blir på denne datamaskinen.",
  "notice.clerkLocal":
    "Clerk er ikke konfigurert: pasientkontoer lagres i et lokalt kontoregister",
  "notice.clerkLocalDetail": "Sett CLERK_SECRET_KEY for å opprette ekte påloggingskontoer for pasienter.",

  "signIn.title": "Logg inn",
  "signIn.subtitle": "Bruk din egen ansattpålogging til klinikkens database.",
  "signIn.server": "Server",
  "signIn.serverHint": "Databaseadresse, for eksempel postgres://db.klinikk.example:5432/digimed",
  "signIn.username": "Brukernavn",
  "signIn.password": "Passord",
  "signIn.passwordSaved": "Lagret passord blir brukt",
  "signIn.passwordSavedHint":
    "Et passord for denne påloggingen er lagret i datamaskinens nøkkelring. La Passord stå tomt for å bruke det, eller skriv inn et nytt.",
  "signIn.remember": "Husk meg på denne datamaskinen",
  "signIn.rememberHint": "Lagrer passordet i operativsystemets nøkkelring, aldri i appen.",
  "signIn.submit": "Logg inn",
  "signIn.submitting": "Logger inn …",
  "signIn.errorTitle": "Kunne ikke logge inn",
  "signIn.keyringUnavailable": "Nøkkelringen er ikke tilgjengelig, så passord kan ikke huskes: {message}",

  "error.unauthorized": "Feil brukernavn eller passord.",
  "error.database_unavailable":
    "Databasen kan ikke nås akkurat nå; ingenting ble lagret. Prøv igjen.",
  "error.retryHint": "Det kan gå hvis du prøver igjen om litt.",
  "error.unexpected": "Noe gikk galt: {message}",

  "shell.nav": "Skjermbilder",
  "shell.signedInAs": "Logget inn som {name}",
  "shell.signOut": "Logg ut",
  "shell.signingOut": "Logger ut …",
  "shell.placeholder": "Dette skjermbildet er under arbeid og kommer i en senere versjon.",
  "shell.noScreens": "Rollen din har ingen skjermbilder i denne versjonen av konsollen.",

  "role.secretary": "Sekretær",
  "role.doctor": "Lege",
  "role.customer_support": "Kundestøtte",
  "role.admin": "Administrator",

  "screen.referrals": "Henvisningskø",
  "screen.consultations": "Mine konsultasjoner",
  "screen.onboard": "Registrer pasient",
  "screen.consent": "Samtykkestatus",
  "screen.admin": "Administrasjon",
};
