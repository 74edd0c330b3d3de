//! Shopify's `CountryCode` and `LanguageCode` enums, as the Storefront API declares them, for
//! `@inContext(country:, language:)` and its variables (Hydrogen sends `$country: CountryCode`
//! and `$language: LanguageCode` with every operation). Generated from `storefront.schema.json`
//! in `@shopify/hydrogen-react` 2025.7.0 (the Storefront API introspection Shopify ships with
//! Hydrogen): 245 country codes and 144 language codes, with Shopify's descriptions. Do not edit
//! by hand; regenerate from a newer schema when Shopify adds codes.

/// The code designating a country/region, which generally follows ISO 3166-1 alpha-2 guidelines. If
/// a territory doesn't have a country code value in the `CountryCode` enum, then it might be
/// considered a subdivision of another country. For example, the territories associated with Spain
/// are represented by the country code `ES`, and the territories associated with the United States
/// of America are represented by the country code `US`.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountryCode {
    /// Ascension Island.
    Ac,
    /// Andorra.
    Ad,
    /// United Arab Emirates.
    Ae,
    /// Afghanistan.
    Af,
    /// Antigua & Barbuda.
    Ag,
    /// Anguilla.
    Ai,
    /// Albania.
    Al,
    /// Armenia.
    Am,
    /// Netherlands Antilles.
    An,
    /// Angola.
    Ao,
    /// Argentina.
    Ar,
    /// Austria.
    At,
    /// Australia.
    Au,
    /// Aruba.
    Aw,
    /// Åland Islands.
    Ax,
    /// Azerbaijan.
    Az,
    /// Bosnia & Herzegovina.
    Ba,
    /// Barbados.
    Bb,
    /// Bangladesh.
    Bd,
    /// Belgium.
    Be,
    /// Burkina Faso.
    Bf,
    /// Bulgaria.
    Bg,
    /// Bahrain.
    Bh,
    /// Burundi.
    Bi,
    /// Benin.
    Bj,
    /// St. Barthélemy.
    Bl,
    /// Bermuda.
    Bm,
    /// Brunei.
    Bn,
    /// Bolivia.
    Bo,
    /// Caribbean Netherlands.
    Bq,
    /// Brazil.
    Br,
    /// Bahamas.
    Bs,
    /// Bhutan.
    Bt,
    /// Bouvet Island.
    Bv,
    /// Botswana.
    Bw,
    /// Belarus.
    By,
    /// Belize.
    Bz,
    /// Canada.
    Ca,
    /// Cocos (Keeling) Islands.
    Cc,
    /// Congo - Kinshasa.
    Cd,
    /// Central African Republic.
    Cf,
    /// Congo - Brazzaville.
    Cg,
    /// Switzerland.
    Ch,
    /// Côte d’Ivoire.
    Ci,
    /// Cook Islands.
    Ck,
    /// Chile.
    Cl,
    /// Cameroon.
    Cm,
    /// China.
    Cn,
    /// Colombia.
    Co,
    /// Costa Rica.
    Cr,
    /// Cuba.
    Cu,
    /// Cape Verde.
    Cv,
    /// Curaçao.
    Cw,
    /// Christmas Island.
    Cx,
    /// Cyprus.
    Cy,
    /// Czechia.
    Cz,
    /// Germany.
    De,
    /// Djibouti.
    Dj,
    /// Denmark.
    Dk,
    /// Dominica.
    Dm,
    /// Dominican Republic.
    Do,
    /// Algeria.
    Dz,
    /// Ecuador.
    Ec,
    /// Estonia.
    Ee,
    /// Egypt.
    Eg,
    /// Western Sahara.
    Eh,
    /// Eritrea.
    Er,
    /// Spain.
    Es,
    /// Ethiopia.
    Et,
    /// Finland.
    Fi,
    /// Fiji.
    Fj,
    /// Falkland Islands.
    Fk,
    /// Faroe Islands.
    Fo,
    /// France.
    Fr,
    /// Gabon.
    Ga,
    /// United Kingdom.
    Gb,
    /// Grenada.
    Gd,
    /// Georgia.
    Ge,
    /// French Guiana.
    Gf,
    /// Guernsey.
    Gg,
    /// Ghana.
    Gh,
    /// Gibraltar.
    Gi,
    /// Greenland.
    Gl,
    /// Gambia.
    Gm,
    /// Guinea.
    Gn,
    /// Guadeloupe.
    Gp,
    /// Equatorial Guinea.
    Gq,
    /// Greece.
    Gr,
    /// South Georgia & South Sandwich Islands.
    Gs,
    /// Guatemala.
    Gt,
    /// Guinea-Bissau.
    Gw,
    /// Guyana.
    Gy,
    /// Hong Kong SAR.
    Hk,
    /// Heard & McDonald Islands.
    Hm,
    /// Honduras.
    Hn,
    /// Croatia.
    Hr,
    /// Haiti.
    Ht,
    /// Hungary.
    Hu,
    /// Indonesia.
    Id,
    /// Ireland.
    Ie,
    /// Israel.
    Il,
    /// Isle of Man.
    Im,
    /// India.
    In,
    /// British Indian Ocean Territory.
    Io,
    /// Iraq.
    Iq,
    /// Iran.
    Ir,
    /// Iceland.
    Is,
    /// Italy.
    It,
    /// Jersey.
    Je,
    /// Jamaica.
    Jm,
    /// Jordan.
    Jo,
    /// Japan.
    Jp,
    /// Kenya.
    Ke,
    /// Kyrgyzstan.
    Kg,
    /// Cambodia.
    Kh,
    /// Kiribati.
    Ki,
    /// Comoros.
    Km,
    /// St. Kitts & Nevis.
    Kn,
    /// North Korea.
    Kp,
    /// South Korea.
    Kr,
    /// Kuwait.
    Kw,
    /// Cayman Islands.
    Ky,
    /// Kazakhstan.
    Kz,
    /// Laos.
    La,
    /// Lebanon.
    Lb,
    /// St. Lucia.
    Lc,
    /// Liechtenstein.
    Li,
    /// Sri Lanka.
    Lk,
    /// Liberia.
    Lr,
    /// Lesotho.
    Ls,
    /// Lithuania.
    Lt,
    /// Luxembourg.
    Lu,
    /// Latvia.
    Lv,
    /// Libya.
    Ly,
    /// Morocco.
    Ma,
    /// Monaco.
    Mc,
    /// Moldova.
    Md,
    /// Montenegro.
    Me,
    /// St. Martin.
    Mf,
    /// Madagascar.
    Mg,
    /// North Macedonia.
    Mk,
    /// Mali.
    Ml,
    /// Myanmar (Burma).
    Mm,
    /// Mongolia.
    Mn,
    /// Macao SAR.
    Mo,
    /// Martinique.
    Mq,
    /// Mauritania.
    Mr,
    /// Montserrat.
    Ms,
    /// Malta.
    Mt,
    /// Mauritius.
    Mu,
    /// Maldives.
    Mv,
    /// Malawi.
    Mw,
    /// Mexico.
    Mx,
    /// Malaysia.
    My,
    /// Mozambique.
    Mz,
    /// Namibia.
    Na,
    /// New Caledonia.
    Nc,
    /// Niger.
    Ne,
    /// Norfolk Island.
    Nf,
    /// Nigeria.
    Ng,
    /// Nicaragua.
    Ni,
    /// Netherlands.
    Nl,
    /// Norway.
    No,
    /// Nepal.
    Np,
    /// Nauru.
    Nr,
    /// Niue.
    Nu,
    /// New Zealand.
    Nz,
    /// Oman.
    Om,
    /// Panama.
    Pa,
    /// Peru.
    Pe,
    /// French Polynesia.
    Pf,
    /// Papua New Guinea.
    Pg,
    /// Philippines.
    Ph,
    /// Pakistan.
    Pk,
    /// Poland.
    Pl,
    /// St. Pierre & Miquelon.
    Pm,
    /// Pitcairn Islands.
    Pn,
    /// Palestinian Territories.
    Ps,
    /// Portugal.
    Pt,
    /// Paraguay.
    Py,
    /// Qatar.
    Qa,
    /// Réunion.
    Re,
    /// Romania.
    Ro,
    /// Serbia.
    Rs,
    /// Russia.
    Ru,
    /// Rwanda.
    Rw,
    /// Saudi Arabia.
    Sa,
    /// Solomon Islands.
    Sb,
    /// Seychelles.
    Sc,
    /// Sudan.
    Sd,
    /// Sweden.
    Se,
    /// Singapore.
    Sg,
    /// St. Helena.
    Sh,
    /// Slovenia.
    Si,
    /// Svalbard & Jan Mayen.
    Sj,
    /// Slovakia.
    Sk,
    /// Sierra Leone.
    Sl,
    /// San Marino.
    Sm,
    /// Senegal.
    Sn,
    /// Somalia.
    So,
    /// Suriname.
    Sr,
    /// South Sudan.
    Ss,
    /// São Tomé & Príncipe.
    St,
    /// El Salvador.
    Sv,
    /// Sint Maarten.
    Sx,
    /// Syria.
    Sy,
    /// Eswatini.
    Sz,
    /// Tristan da Cunha.
    Ta,
    /// Turks & Caicos Islands.
    Tc,
    /// Chad.
    Td,
    /// French Southern Territories.
    Tf,
    /// Togo.
    Tg,
    /// Thailand.
    Th,
    /// Tajikistan.
    Tj,
    /// Tokelau.
    Tk,
    /// Timor-Leste.
    Tl,
    /// Turkmenistan.
    Tm,
    /// Tunisia.
    Tn,
    /// Tonga.
    To,
    /// Türkiye.
    Tr,
    /// Trinidad & Tobago.
    Tt,
    /// Tuvalu.
    Tv,
    /// Taiwan.
    Tw,
    /// Tanzania.
    Tz,
    /// Ukraine.
    Ua,
    /// Uganda.
    Ug,
    /// U.S. Outlying Islands.
    Um,
    /// United States.
    Us,
    /// Uruguay.
    Uy,
    /// Uzbekistan.
    Uz,
    /// Vatican City.
    Va,
    /// St. Vincent & Grenadines.
    Vc,
    /// Venezuela.
    Ve,
    /// British Virgin Islands.
    Vg,
    /// Vietnam.
    Vn,
    /// Vanuatu.
    Vu,
    /// Wallis & Futuna.
    Wf,
    /// Samoa.
    Ws,
    /// Kosovo.
    Xk,
    /// Yemen.
    Ye,
    /// Mayotte.
    Yt,
    /// South Africa.
    Za,
    /// Zambia.
    Zm,
    /// Zimbabwe.
    Zw,
    /// Unknown Region.
    Zz,
}

/// Language codes supported by Shopify.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LanguageCode {
    /// Afrikaans.
    Af,
    /// Akan.
    Ak,
    /// Amharic.
    Am,
    /// Arabic.
    Ar,
    /// Assamese.
    As,
    /// Azerbaijani.
    Az,
    /// Belarusian.
    Be,
    /// Bulgarian.
    Bg,
    /// Bambara.
    Bm,
    /// Bangla.
    Bn,
    /// Tibetan.
    Bo,
    /// Breton.
    Br,
    /// Bosnian.
    Bs,
    /// Catalan.
    Ca,
    /// Chechen.
    Ce,
    /// Central Kurdish.
    Ckb,
    /// Czech.
    Cs,
    /// Church Slavic.
    Cu,
    /// Welsh.
    Cy,
    /// Danish.
    Da,
    /// German.
    De,
    /// Dzongkha.
    Dz,
    /// Ewe.
    Ee,
    /// Greek.
    El,
    /// English.
    En,
    /// Esperanto.
    Eo,
    /// Spanish.
    Es,
    /// Estonian.
    Et,
    /// Basque.
    Eu,
    /// Persian.
    Fa,
    /// Fulah.
    Ff,
    /// Finnish.
    Fi,
    /// Filipino.
    Fil,
    /// Faroese.
    Fo,
    /// French.
    Fr,
    /// Western Frisian.
    Fy,
    /// Irish.
    Ga,
    /// Scottish Gaelic.
    Gd,
    /// Galician.
    Gl,
    /// Gujarati.
    Gu,
    /// Manx.
    Gv,
    /// Hausa.
    Ha,
    /// Hebrew.
    He,
    /// Hindi.
    Hi,
    /// Croatian.
    Hr,
    /// Hungarian.
    Hu,
    /// Armenian.
    Hy,
    /// Interlingua.
    Ia,
    /// Indonesian.
    Id,
    /// Igbo.
    Ig,
    /// Sichuan Yi.
    Ii,
    /// Icelandic.
    Is,
    /// Italian.
    It,
    /// Japanese.
    Ja,
    /// Javanese.
    Jv,
    /// Georgian.
    Ka,
    /// Kikuyu.
    Ki,
    /// Kazakh.
    Kk,
    /// Kalaallisut.
    Kl,
    /// Khmer.
    Km,
    /// Kannada.
    Kn,
    /// Korean.
    Ko,
    /// Kashmiri.
    Ks,
    /// Kurdish.
    Ku,
    /// Cornish.
    Kw,
    /// Kyrgyz.
    Ky,
    /// Latin.
    La,
    /// Luxembourgish.
    Lb,
    /// Ganda.
    Lg,
    /// Lingala.
    Ln,
    /// Lao.
    Lo,
    /// Lithuanian.
    Lt,
    /// Luba-Katanga.
    Lu,
    /// Latvian.
    Lv,
    /// Malagasy.
    Mg,
    /// Māori.
    Mi,
    /// Macedonian.
    Mk,
    /// Malayalam.
    Ml,
    /// Mongolian.
    Mn,
    /// Moldavian.
    Mo,
    /// Marathi.
    Mr,
    /// Malay.
    Ms,
    /// Maltese.
    Mt,
    /// Burmese.
    My,
    /// Norwegian (Bokmål).
    Nb,
    /// North Ndebele.
    Nd,
    /// Nepali.
    Ne,
    /// Dutch.
    Nl,
    /// Norwegian Nynorsk.
    Nn,
    /// Norwegian.
    No,
    /// Oromo.
    Om,
    /// Odia.
    Or,
    /// Ossetic.
    Os,
    /// Punjabi.
    Pa,
    /// Polish.
    Pl,
    /// Pashto.
    Ps,
    /// Portuguese.
    Pt,
    /// Portuguese (Brazil).
    PtBr,
    /// Portuguese (Portugal).
    PtPt,
    /// Quechua.
    Qu,
    /// Romansh.
    Rm,
    /// Rundi.
    Rn,
    /// Romanian.
    Ro,
    /// Russian.
    Ru,
    /// Kinyarwanda.
    Rw,
    /// Sanskrit.
    Sa,
    /// Sardinian.
    Sc,
    /// Sindhi.
    Sd,
    /// Northern Sami.
    Se,
    /// Sango.
    Sg,
    /// Serbo-Croatian.
    Sh,
    /// Sinhala.
    Si,
    /// Slovak.
    Sk,
    /// Slovenian.
    Sl,
    /// Shona.
    Sn,
    /// Somali.
    So,
    /// Albanian.
    Sq,
    /// Serbian.
    Sr,
    /// Sundanese.
    Su,
    /// Swedish.
    Sv,
    /// Swahili.
    Sw,
    /// Tamil.
    Ta,
    /// Telugu.
    Te,
    /// Tajik.
    Tg,
    /// Thai.
    Th,
    /// Tigrinya.
    Ti,
    /// Turkmen.
    Tk,
    /// Tongan.
    To,
    /// Turkish.
    Tr,
    /// Tatar.
    Tt,
    /// Uyghur.
    Ug,
    /// Ukrainian.
    Uk,
    /// Urdu.
    Ur,
    /// Uzbek.
    Uz,
    /// Vietnamese.
    Vi,
    /// Volapük.
    Vo,
    /// Wolof.
    Wo,
    /// Xhosa.
    Xh,
    /// Yiddish.
    Yi,
    /// Yoruba.
    Yo,
    /// Chinese.
    Zh,
    /// Chinese (Simplified).
    ZhCn,
    /// Chinese (Traditional).
    ZhTw,
    /// Zulu.
    Zu,
}
