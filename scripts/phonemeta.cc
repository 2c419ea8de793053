/*
 * phonemeta.cc: a build tool that prints, from the libphonenumber the
 * program links (Debian's libphonenumber-dev), what the browser copy of
 * phone normalization (web/ident.js) needs to follow exactly the same rules
 * (docs/spec/identifiers.md, "The browser copy").
 *
 *   phonemeta js VERSION   the metadata as a script (build/.../gen/phonemeta.js,
 *                          served as /static/phonemeta.js): per region its
 *                          calling code, international and national prefixes,
 *                          and the number patterns and lengths that parsing
 *                          and validation use; per calling code its regions in
 *                          the library's order. Formatting rules and example
 *                          numbers are left out.
 *   phonemeta examples     the library's example number of every type of every
 *                          region and non-geographic code, in E.164,
 *                          international, national and RFC 3966 form, one per
 *                          line as "REGION TAB TYPE TAB FORM TAB TEXT": the seed
 *                          of the cross-check corpus (tests/browser/phone-xcheck.test.js)
 *   phonemeta regions      the supported region codes, one per line
 *
 * The metadata is read from the same compiled-in bytes PhoneNumberUtil loads
 * (metadata_get/metadata_size, exported by the library but declared in no
 * installed header), so the page and the service cannot drift apart: both
 * are built from the one installed library. Nothing here is downloaded.
 */
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumberutil.h>

namespace i18n {
namespace phonenumbers {
int metadata_size();
const void *metadata_get();
} // namespace phonenumbers
} // namespace i18n

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberDesc;
using i18n::phonenumbers::PhoneNumberUtil;

static std::string json_str(const std::string &s)
{
	std::string out = "\"";
	for (char c : s) {
		if (c == '"' || c == '\\')
			out += '\\';
		if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
			std::fprintf(stderr, "phonemeta: non-ASCII byte in a pattern\n");
			std::exit(1);
		}
		out += c;
	}
	return out + "\"";
}

static std::string json_ints(const google::protobuf::RepeatedField<int32_t> &v)
{
	std::string out = "[";
	for (int i = 0; i < v.size(); i++)
		out += (i ? "," : "") + std::to_string(v.Get(i));
	return out + "]";
}

/* [pattern or "", [possible lengths], [local-only lengths]] */
static std::string json_desc(const PhoneNumberDesc &d)
{
	return "[" + json_str(d.national_number_pattern()) + "," + json_ints(d.possible_length()) +
	       "," + json_ints(d.possible_length_local_only()) + "]";
}

static std::string json_region(const PhoneMetadata &m)
{
	/* The order GetNumberTypeHelper tries the types in; fixed line and
	 * mobile come last. */
	const PhoneNumberDesc *types[] = {
		&m.premium_rate(), &m.toll_free(), &m.shared_cost(), &m.voip(),
		&m.personal_number(), &m.pager(), &m.uan(), &m.voicemail(),
		&m.fixed_line(), &m.mobile(),
	};
	std::string out = "{\"cc\":" + std::to_string(m.country_code()) +
			  ",\"idd\":" + json_str(m.international_prefix()) +
			  ",\"npp\":" + json_str(m.national_prefix_for_parsing()) +
			  ",\"npt\":" + json_str(m.national_prefix_transform_rule()) +
			  ",\"ld\":" + (m.has_leading_digits() ? json_str(m.leading_digits()) : "null") +
			  ",\"same\":" + (m.same_mobile_and_fixed_line_pattern() ? "1" : "0") +
			  ",\"general\":" + json_desc(m.general_desc()) + ",\"types\":[";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		out += (i ? "," : "") + json_desc(*types[i]);
	return out + "]}";
}

static void load(PhoneMetadataCollection *c)
{
	if (!c->ParseFromArray(i18n::phonenumbers::metadata_get(), i18n::phonenumbers::metadata_size())) {
		std::fprintf(stderr, "phonemeta: the library's metadata does not parse\n");
		std::exit(1);
	}
}

static int print_js(const char *version)
{
	PhoneMetadataCollection c;
	std::map<int, std::vector<std::string>> codes; /* the library's region order per code */
	std::string regions, nongeo;

	load(&c);
	for (const PhoneMetadata &m : c.metadata()) {
		const std::string &id = m.id();
		if (id == "ZZ")
			continue;
		std::vector<std::string> &list = codes[m.country_code()];
		if (m.main_country_for_code())
			list.insert(list.begin(), id);
		else
			list.push_back(id);
		if (id == "001")
			nongeo += (nongeo.empty() ? "" : ",\n") + json_str(std::to_string(m.country_code())) +
				  ":" + json_region(m);
		else
			regions += (regions.empty() ? "" : ",\n") + json_str(id) + ":" + json_region(m);
	}
	std::string code_list;
	for (const auto &kv : codes) {
		code_list += (code_list.empty() ? "" : ",") + json_str(std::to_string(kv.first)) + ":[";
		for (size_t i = 0; i < kv.second.size(); i++)
			code_list += (i ? "," : "") + json_str(kv.second[i]);
		code_list += "]";
	}
	std::printf("/* Generated by scripts/phonemeta.cc from libphonenumber %s (Debian); do not edit. */\n"
		    "(function (root) {\n\"use strict\";\nvar meta = {\"version\":%s,\n"
		    "\"codes\":{%s},\n\"regions\":{\n%s},\n\"nongeo\":{\n%s}};\n"
		    "root.crPhoneMeta = meta;\n"
		    "if (typeof module !== \"undefined\" && module.exports)\n\tmodule.exports = meta;\n"
		    "})(typeof window !== \"undefined\" ? window : globalThis);\n",
		    version, json_str(version).c_str(), code_list.c_str(), regions.c_str(), nongeo.c_str());
	return 0;
}

static void print_forms(const PhoneNumberUtil *u, const std::string &region, const char *type,
			const PhoneNumber &n)
{
	static const struct {
		const char *name;
		PhoneNumberUtil::PhoneNumberFormat f;
	} forms[] = {
		{ "e164", PhoneNumberUtil::E164 },
		{ "international", PhoneNumberUtil::INTERNATIONAL },
		{ "national", PhoneNumberUtil::NATIONAL },
		{ "rfc3966", PhoneNumberUtil::RFC3966 },
	};
	for (const auto &f : forms) {
		std::string s;
		u->Format(n, f.f, &s);
		std::printf("%s\t%s\t%s\t%s\n", region.c_str(), type, f.name, s.c_str());
	}
}

static int print_examples(void)
{
	static const struct {
		const char *name;
		PhoneNumberUtil::PhoneNumberType t;
	} types[] = {
		{ "fixed_line", PhoneNumberUtil::FIXED_LINE },
		{ "mobile", PhoneNumberUtil::MOBILE },
		{ "toll_free", PhoneNumberUtil::TOLL_FREE },
		{ "premium_rate", PhoneNumberUtil::PREMIUM_RATE },
		{ "shared_cost", PhoneNumberUtil::SHARED_COST },
		{ "voip", PhoneNumberUtil::VOIP },
		{ "personal_number", PhoneNumberUtil::PERSONAL_NUMBER },
		{ "pager", PhoneNumberUtil::PAGER },
		{ "uan", PhoneNumberUtil::UAN },
		{ "voicemail", PhoneNumberUtil::VOICEMAIL },
	};
	const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
	std::set<std::string> regions;
	std::set<int> nongeo;

	u->GetSupportedRegions(&regions);
	for (const std::string &r : regions) {
		for (const auto &t : types) {
			PhoneNumber n;
			if (u->GetExampleNumberForType(r, t.t, &n))
				print_forms(u, r, t.name, n);
		}
	}
	u->GetSupportedGlobalNetworkCallingCodes(&nongeo);
	for (int cc : nongeo) {
		PhoneNumber n;
		if (u->GetExampleNumberForNonGeoEntity(cc, &n))
			print_forms(u, "001", "nongeo", n);
	}
	return 0;
}

static int print_regions(void)
{
	std::set<std::string> regions;
	PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
	for (const std::string &r : regions)
		std::printf("%s\n", r.c_str());
	return 0;
}

int main(int argc, char **argv)
{
	std::string mode = argc > 1 ? argv[1] : "";
	if (mode == "js" && argc == 3)
		return print_js(argv[2]);
	if (mode == "examples" && argc == 2)
		return print_examples();
	if (mode == "regions" && argc == 2)
		return print_regions();
	std::fprintf(stderr, "usage: phonemeta js VERSION | examples | regions\n");
	return 2;
}
