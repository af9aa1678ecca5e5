// Serbian Cyrillic <-> Latin (gajica), the standard one-to-one letter correspondence. Pure; std only.
// Programme texts are written in Cyrillic (`sr`); the Latin form (`sr-Latn`) is always derived from it
// with to_serbian_latin(), never written by hand, so the two cannot drift (docs/FORMS.md §2.1).
#pragma once

#include <string>
#include <string_view>

namespace akt::forms {

// Transliterates the 30 Serbian Cyrillic letters (both cases) to Latin: Љ->Lj, Њ->Nj, Џ->Dž, Ђ->Đ,
// Ћ->Ć, Ж->Ž, Ч->Č, Ш->Š, ... Every other code point (Latin acronyms, digits, punctuation, quotes)
// is copied unchanged. A capital Љ/Њ/Џ becomes "LJ"/"NJ"/"DŽ" when the letter next to it within the
// word is also a capital (all-caps text: "ЉИЉА" -> "LJILJA"), and "Lj"/"Nj"/"Dž" otherwise
// ("Љиљана" -> "Ljiljana", a lone "Џ" -> "Dž"). Input that is not valid UTF-8 is copied unchanged.
std::string to_serbian_latin(std::string_view cyrillic);

// The reverse, for names that exist only in Latin (the reference files' name_sr): lj/nj/dž in any
// case become Љ/Њ/Џ. Not for general text: Latin has no way to mark "d" + "ž" or "n" + "j" across a
// morpheme boundary (nadživeti, injekcija), so only names verified to round-trip
// (to_serbian_latin(to_serbian_cyrillic(x)) == x, tested for every reference name) go through it.
// Letters outside the Serbian alphabet (q, w, x, y) are copied unchanged.
std::string to_serbian_cyrillic(std::string_view latin);

}  // namespace akt::forms
