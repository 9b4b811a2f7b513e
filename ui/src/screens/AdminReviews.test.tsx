import { render, screen, within } from "@testing-library/preact";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { commands, type ReviewSummary } from "../bindings";
import { I18nProvider } from "../i18n";
import { Reviews } from "./AdminReviews";

vi.mock("../bindings", () => import("../test-commands").then((m) => m.mockBindings()));
const mocks = vi.mocked(commands);

const SUMMARY: ReviewSummary = {
  answered: 4,
  unanswered: 2,
  average: 3.25,
  by_doctor: [
    { id: 3, name: "Dr. Anders Moe", answered: 3, average: 4, ratings: [0, 0, 1, 1, 1] },
    { id: null, name: null, answered: 1, average: 1, ratings: [1, 0, 0, 0, 0] },
  ],
  by_partner: [{ id: 1, name: "Fjord Forsikring", answered: 4, average: 3.25, ratings: [1, 0, 1, 1, 1] }],
  latest_comments: [
    {
      consultation_id: 12,
      submitted_at: "2026-12-06T10:00:00Z",
      rating: 1,
      comment: "Nobody called me.\nTwice.",
      doctor_name: null,
      partner_name: "Fjord Forsikring",
    },
    {
      consultation_id: 9,
      submitted_at: "2026-12-05T10:00:00Z",
      rating: 5,
      comment: "Very helpful <b>thanks</b>",
      doctor_name: "Dr. Anders Moe",
      partner_name: "Fjord Forsikring",
    },
  ],
};

beforeEach(() => {
  mocks.reviewsSummary.mockReset().mockResolvedValue({ status: "ok", data: SUMMARY });
});

function renderIn(language: "en" | "nb") {
  render(
    <I18nProvider initial={language}>
      <Reviews />
    </I18nProvider>,
  );
}

describe("Reviews", () => {
  it("shows counts and averages per doctor and per partner, and the newest comments as text", async () => {
    renderIn("en");
    expect((await screen.findByText(/4 answered/)).textContent).toBe("4 answered, average 3.3 of 5 (2 review links not answered).");
    const doctors = screen.getByRole("table", { name: "Per doctor" });
    const rows = within(doctors).getAllByRole("row");
    expect(rows.map((r) => r.textContent)).toEqual([
      "DoctorAnsweredAverageRatings",
      "Dr. Anders Moe34.01: 0 · 2: 0 · 3: 1 · 4: 1 · 5: 1",
      "No doctor assigned11.01: 1 · 2: 0 · 3: 0 · 4: 0 · 5: 0",
    ]);
    const partners = screen.getByRole("table", { name: "Per partner" });
    expect(within(partners).getAllByRole("row")[1]!.textContent).toContain("Fjord Forsikring");
    const comments = screen.getAllByRole("listitem");
    expect(comments).toHaveLength(2);
    expect(comments[0]!.textContent).toContain("1 of 5");
    expect(comments[0]!.textContent).toContain("No doctor assigned");
    expect(comments[1]!.querySelector("blockquote")!.textContent).toBe("Very helpful <b>thanks</b>");
    expect(comments[1]!.querySelector("b")).toBeNull();
  });

  it("speaks bokmål, with a decimal comma", async () => {
    renderIn("nb");
    expect((await screen.findByText(/4 svar/)).textContent).toBe("4 svar, snitt 3,3 av 5 (2 vurderingslenker ikke besvart).");
    expect(screen.getByRole("table", { name: "Per lege" })).toBeTruthy();
    expect(screen.getByText("Nyeste kommentarer")).toBeTruthy();
  });

  it("says when nobody has answered yet, without empty tables", async () => {
    mocks.reviewsSummary.mockResolvedValue({
      status: "ok",
      data: { answered: 0, unanswered: 3, average: null, by_doctor: [], by_partner: [], latest_comments: [] },
    });
    renderIn("en");
    expect((await screen.findByText(/No patient has rated/)).textContent).toBe(
      "No patient has rated a consultation yet (3 review links not answered).",
    );
    expect(screen.queryByRole("table")).toBeNull();
    expect(screen.getByText("No comments yet.")).toBeTruthy();
  });

  it("shows a refusal as an alert", async () => {
    mocks.reviewsSummary.mockResolvedValue({
      status: "error",
      error: { code: "forbidden", message: "Your role (secretary) cannot see patients' ratings and comments of consultations; only administrators may." },
    });
    renderIn("en");
    expect((await screen.findByRole("alert")).textContent).toContain("only administrators may");
  });
});
