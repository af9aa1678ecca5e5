// Reference CSVs embedded verbatim from docs/domain/ (generated; regenerate when the CSVs change:
// codes are stable, new ones are appended). Used by builtin_choice_lists(). Pure data.
#include "schema/forms/reference_data.hpp"

namespace akt::forms {

const std::string_view kMunicipalitiesCsv = R"csv(code,name_sq,name_sr,region,serb_majority
decan,Deçan,Dečani,Gjakova,false
dragash,Dragash,Dragaš,Prizren,false
drenas,Drenas,Glogovac,Prishtina,false
ferizaj,Ferizaj,Uroševac,Ferizaj,false
fushe_kosove,Fushë Kosovë,Kosovo Polje,Prishtina,false
gjakove,Gjakovë,Đakovica,Gjakova,false
gjilan,Gjilan,Gnjilane,Gjilan,false
gracanice,Graçanicë,Gračanica,Prishtina,true
hani_i_elezit,Hani i Elezit,Elez Han,Ferizaj,false
istog,Istog,Istok,Peja,false
junik,Junik,Junik,Gjakova,false
kacanik,Kaçanik,Kačanik,Ferizaj,false
kamenice,Kamenicë,Kamenica,Gjilan,false
kline,Klinë,Klina,Peja,false
kllokot,Kllokot,Klokot,Gjilan,true
leposaviq,Leposaviq,Leposavić,Mitrovica,true
lipjan,Lipjan,Lipljan,Prishtina,false
malisheve,Malishevë,Mališevo,Prizren,false
mamushe,Mamushë,Mamuša,Prizren,false
mitrovica_north,Mitrovicë e Veriut,Severna Mitrovica,Mitrovica,true
mitrovica_south,Mitrovicë e Jugut,Južna Mitrovica,Mitrovica,false
novoberde,Novobërdë,Novo Brdo,Prishtina,true
obiliq,Obiliq,Obilić,Prishtina,false
partesh,Partesh,Parteš,Gjilan,true
peje,Pejë,Peć,Peja,false
podujeve,Podujevë,Podujevo,Prishtina,false
prishtine,Prishtinë,Priština,Prishtina,false
prizren,Prizren,Prizren,Prizren,false
rahovec,Rahovec,Orahovac,Gjakova,false
ranillug,Ranillug,Ranilug,Gjilan,true
shterpce,Shtërpcë,Štrpce,Ferizaj,true
shtime,Shtime,Štimlje,Ferizaj,false
skenderaj,Skenderaj,Srbica,Mitrovica,false
suhareke,Suharekë,Suva Reka,Prizren,false
viti,Viti,Vitina,Gjilan,false
vushtrri,Vushtrri,Vučitrn,Mitrovica,false
zubin_potok,Zubin Potok,Zubin Potok,Mitrovica,true
zvecan,Zveçan,Zvečan,Mitrovica,true
)csv";

const std::string_view kCommunitiesCsv = R"csv(code,name_en,name_sq,name_sr
albanian,Albanian,Komuniteti shqiptar,Albanska zajednica
serb,Serb,Komuniteti serb,Srpska zajednica
bosniak,Bosniak,Komuniteti boshnjak,Bošnjačka zajednica
turkish,Turkish,Komuniteti turk,Turska zajednica
roma,Roma,Komuniteti rom,Romska zajednica
ashkali,Ashkali,Komuniteti ashkali,Aškalijska zajednica
egyptian,Egyptian,Komuniteti egjiptian,Egipćanska zajednica
gorani,Gorani,Komuniteti goran,Goranska zajednica
montenegrin,Montenegrin,Komuniteti malazez,Crnogorska zajednica
croat,Croat,Komuniteti kroat,Hrvatska zajednica
other,Other,Komunitet tjetër,Druga zajednica
)csv";

const std::string_view kLanguagesCsv = R"csv(code,name_en,name_sq,name_sr,name_native,status
sq,Albanian,Shqip,Albanski,Shqip,official
sr,Serbian,Serbisht,Srpski,Srpski / Српски,official
tr,Turkish,Turqisht,Turski,Türkçe,official_municipal
bs,Bosnian,Boshnjakisht,Bosanski,Bosanski,official_municipal
rom,Romani,Romisht,Romski,Romani čhib,official_municipal
)csv";

}  // namespace akt::forms
