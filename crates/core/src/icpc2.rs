//! The ICPC-2 code list. The classification is licensed, so it is not copied into the product:
//! `import` loads the published JSON list (`[{"code": "A01", "text": "..."}]`, see
//! `data/README.md`) into the database, and `search` finds codes by code prefix or by words of
//! the title.

use crate::capability::Capability;
use crate::clinic_tx::ClinicTx;
use crate::error::{Error, ErrorCode, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Serialize, PartialEq, Eq, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Icpc2Code {
    pub code: String,
    pub title: String,
    /// The chapter letter (A general, R respiratory, ...).
    pub chapter: String,
    /// `symptom` (01–29), `process` (30–69) or `diagnosis` (70–99).
    pub component: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportReport {
    pub codes: u32,
    pub retired: u32,
    pub sha256: String,
    /// True when the same file had already been imported: nothing was changed.
    pub unchanged: bool,
}

#[derive(Deserialize)]
struct Entry {
    code: String,
    text: String,
}

/// The English name of an ICPC-2 chapter (the code's first letter).
pub fn chapter_name(letter: &str) -> &'static str {
    match letter {
        "A" => "General and unspecified",
        "B" => "Blood, blood forming organs and immune mechanism",
        "D" => "Digestive",
        "F" => "Eye",
        "H" => "Ear",
        "K" => "Cardiovascular",
        "L" => "Musculoskeletal",
        "N" => "Neurological",
        "P" => "Psychological",
        "R" => "Respiratory",
        "S" => "Skin",
        "T" => "Endocrine, metabolic and nutritional",
        "U" => "Urological",
        "W" => "Pregnancy, childbearing, family planning",
        "X" => "Female genital",
        "Y" => "Male genital",
        "Z" => "Social problems",
        _ => "Unknown chapter",
    }
}

/// Lower case, Norwegian and other accented letters folded to ASCII, everything else but letters
/// and digits turned into single spaces. Used for titles at import and for queries, so both
/// sides always fold alike.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let piece: &str = match c {
            'æ' => "ae",
            'ø' | 'ö' | 'ó' | 'ò' | 'ô' => "o",
            'å' | 'ä' | 'á' | 'à' | 'â' => "a",
            'é' | 'è' | 'ê' | 'ë' => "e",
            'ü' | 'ú' | 'ù' => "u",
            'í' | 'ì' | 'ï' => "i",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => " ",
        };
        out.push_str(piece);
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn valid_code(code: &str) -> bool {
    let b = code.as_bytes();
    (b.len() == 3 || b.len() == 4) && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit)
}

/// Imports the code list. Idempotent: importing the file that was imported last changes
/// nothing. The whole file is checked before anything is written; one bad entry refuses it.
pub async fn import(tx: &mut ClinicTx, file: &[u8]) -> Result<ImportReport> {
    tx.require(Capability::ImportIcpc2)?;
    let sha256 = hex::encode(Sha256::digest(file));
    let entries: Vec<Entry> = serde_json::from_slice(file).map_err(|e| {
        Error::field(ErrorCode::InvalidInput, "file", format!("The file is not an ICPC-2 code list in JSON: {e}"))
    })?;
    if entries.is_empty() {
        return Err(Error::field(ErrorCode::InvalidInput, "file", "The code list is empty."));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, e) in entries.iter().enumerate() {
        if !valid_code(&e.code) {
            return Err(Error::field(
                ErrorCode::InvalidInput,
                "code",
                format!("Entry {} has an invalid ICPC-2 code ({:?}).", i + 1, e.code),
            ));
        }
        let title = e.text.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(Error::field(
                ErrorCode::InvalidInput,
                "text",
                format!("Entry {} ({}) has no usable title.", i + 1, e.code),
            ));
        }
        if !seen.insert(e.code.as_str()) {
            return Err(Error::field(ErrorCode::InvalidInput, "code", format!("Code {} appears twice.", e.code)));
        }
    }
    // One import at a time.
    sqlx::query!("LOCK TABLE icpc2_imports IN EXCLUSIVE MODE").execute(tx.conn()).await?;
    let last = sqlx::query_scalar!("SELECT sha256 FROM icpc2_imports ORDER BY id DESC LIMIT 1").fetch_optional(tx.conn()).await?;
    if last.as_deref() == Some(sha256.as_str()) {
        return Ok(ImportReport { codes: entries.len() as u32, retired: 0, sha256, unchanged: true });
    }
    let count = i32::try_from(entries.len()).map_err(|_| Error::invalid("file", "The code list is too long."))?;
    let import_id =
        sqlx::query_scalar!("INSERT INTO icpc2_imports (sha256, code_count) VALUES ($1, $2) RETURNING id", sha256, count)
            .fetch_one(tx.conn())
            .await?;
    let codes: Vec<String> = entries.iter().map(|e| e.code.clone()).collect();
    let titles: Vec<String> = entries.iter().map(|e| e.text.trim().to_string()).collect();
    let folded: Vec<String> = entries.iter().map(|e| fold(&e.text)).collect();
    sqlx::query!(
        "INSERT INTO icpc2_codes (code, title, title_folded, import_id)
         SELECT code, title, folded, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS e(code, title, folded)
         ON CONFLICT (code) DO UPDATE
            SET title = excluded.title, title_folded = excluded.title_folded, import_id = excluded.import_id, retired_at = NULL",
        &codes,
        &titles,
        &folded,
        import_id,
    )
    .execute(tx.conn())
    .await?;
    let retired =
        sqlx::query!("UPDATE icpc2_codes SET retired_at = now() WHERE retired_at IS NULL AND NOT (code = ANY($1))", &codes)
            .execute(tx.conn())
            .await?
            .rows_affected();
    Ok(ImportReport { codes: entries.len() as u32, retired: retired as u32, sha256, unchanged: false })
}

/// Finds codes for a type-ahead: an exact code first, then codes starting with the query, then
/// titles containing every word of the query as the start of a word (shorter titles first).
pub async fn search(tx: &mut ClinicTx, query: &str, limit: i64) -> Result<Vec<Icpc2Code>> {
    tx.require(Capability::SearchIcpc2)?;
    let folded = fold(query);
    if folded.is_empty() {
        return Ok(Vec::new());
    }
    let words: Vec<String> = folded.split(' ').take(8).map(|w| format!("(^| ){w}")).collect();
    let code_prefix = folded.replace(' ', "");
    Ok(sqlx::query_as!(
        Icpc2Code,
        r#"SELECT code, title, chapter AS "chapter!", component AS "component!" FROM icpc2_codes
          WHERE retired_at IS NULL
            AND (lower(code) LIKE $1 || '%' OR title_folded ~ ALL ($2::text[]))
          ORDER BY CASE WHEN lower(code) = $1 THEN 0
                        WHEN lower(code) LIKE $1 || '%' THEN 1
                        WHEN title_folded LIKE $3 || '%' THEN 2
                        ELSE 3 END,
                   length(title), code
          LIMIT $4"#,
        code_prefix,
        &words,
        folded,
        limit.clamp(1, 100),
    )
    .fetch_all(tx.conn())
    .await?)
}

/// The code, if it is in the imported list and not retired; the one check a result uses.
pub async fn lookup(tx: &mut ClinicTx, code: &str) -> Result<Icpc2Code> {
    let code = code.trim().to_uppercase();
    sqlx::query_as!(
        Icpc2Code,
        r#"SELECT code, title, chapter AS "chapter!", component AS "component!" FROM icpc2_codes WHERE code = $1 AND retired_at IS NULL"#,
        code,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::field(ErrorCode::InvalidInput, "icpc2", "This is not a code of the imported ICPC-2 list."))
}

/// The code as it was imported, retired or not: for showing results filed earlier.
pub async fn lookup_any(tx: &mut ClinicTx, code: &str) -> Result<Icpc2Code> {
    sqlx::query_as!(
        Icpc2Code,
        r#"SELECT code, title, chapter AS "chapter!", component AS "component!" FROM icpc2_codes WHERE code = $1"#,
        code,
    )
    .fetch_optional(tx.conn())
    .await?
    .ok_or_else(|| Error::not_found("The ICPC-2 code of this result"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_matches_norwegian_letters_and_case() {
        assert_eq!(fold("Akutt øvre luftveisinfeksjon"), "akutt ovre luftveisinfeksjon");
        assert_eq!(fold("  Smerte generell/flere   steder "), "smerte generell flere steder");
        assert_eq!(fold("Blære, ÅPEN"), "blaere apen");
        assert_eq!(fold("R74"), "r74");
        assert_eq!(fold("'; DROP TABLE x; --"), "drop table x");
    }

    #[test]
    fn codes_have_a_letter_and_two_or_three_digits() {
        for ok in ["A01", "R74", "R991"] {
            assert!(valid_code(ok), "{ok}");
        }
        for bad in ["a01", "R7", "R99111", "RR1", "", "R-1"] {
            assert!(!valid_code(bad), "{bad}");
        }
    }
}
