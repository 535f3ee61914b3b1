/**
 * The canonicalization library the request form of every emitted policy carries: fixed Rego text,
 * written by hand here (never from policy data), mirroring `../canonical.ts` exactly where OPA's
 * builtins allow and answering `{"unsure": why}` where they do not. Each `_kind_<k>(v)` returns
 * `{"value": canonical, "parts"?: {...}}`, `{}` for a value APE treats as missing, or `{"unsure": why}`.
 */

/** The library text, formatted as `opa fmt` prints it. */
export const CANONICAL_LIBRARY = `# _kind_path(v): {"value": the path normalized as POSIX path.normalize does} for an absolute path
# without NUL; {} (missing) for anything else; {"unsure": why} when there are too many segments.
_kind_path(v) := {"value": v} if {
	_absolute_path(v)
	not regex.match(\`//|/\\.\\.?(/|$)\`, v)
} else := {"value": _path_normal(v)} if {
	_absolute_path(v)
	count(split(v, "/")) <= 65
} else := {"unsure": "has more than 64 segments to normalize"} if {
	_absolute_path(v)
} else := {}

_absolute_path(v) if {
	is_string(v)
	startswith(v, "/")
	not contains(v, "\\u0000")
}

_path_normal(v) := "/" if {
	count(_path_kept(v)) == 0
} else := concat("", ["/", concat("/", _path_kept(v)), "/"]) if {
	endswith(v, "/")
} else := concat("", ["/", concat("/", _path_kept(v))])

# _path_kept(v): the segments that no later ".." removes (sums[k]: names minus ".." up to k).
_path_kept(v) := [s |
	some i, s in parts
	s != ".."
	not _path_dropped(sums, i)
] if {
	parts := [s | some s in split(v, "/"); not s in {"", "."}]
	sums := [n |
		some k, _ in parts
		head := array.slice(parts, 0, k + 1)
		n := count([1 | some s in head; s != ".."]) - count([1 | some s in head; s == ".."])
	]
}

_path_dropped(sums, i) if {
	some j, n in sums
	j > i
	n < sums[i]
}

# _kind_domain(v): {"value": the host lower-cased without its trailing dot}, as WHATWG URL parsing
# and APE's canonicalHost give it; {} when that rejects it; {"unsure": why} where Rego can't tell.
_kind_domain(v) := {} if {
	not is_string(v)
} else := {} if {
	not _host_shape(v)
} else := {"unsure": "is not ASCII (IDNA mapping is not available in Rego)"} if {
	regex.match(\`[^\\x00-\\x7f]\`, v)
} else := {"unsure": "is a bracketed IPv6 literal"} if {
	startswith(v, "[")
} else := _host_name(lower(v))

_host_shape(v) if {
	count(v) > 0
	count(v) <= 254
	startswith(v, "[")
	endswith(v, "]")
}

_host_shape(v) if {
	count(v) > 0
	count(v) <= 254
	not regex.match(\`[\\t\\n\\v\\f\\r /\\\\?#@:%\\x00]\`, v)
}

_host_name(h) := {} if {
	regex.match(\`[\\x00-\\x20#%/:<>?@\\[\\\\\\]^|\\x7f]\`, h)
} else := {"unsure": "has a punycode (xn--) label"} if {
	regex.match(\`(^|\\.)xn--\`, h)
} else := {"value": _without_dot(h)} if {
	_numeric_end(h)
	_dotted_quad(_without_dot(h))
} else := {"unsure": "ends in a number but is not a dotted-decimal IPv4 address"} if {
	_numeric_end(h)
} else := {"value": _without_dot(h)} if {
	_without_dot(h) != ""
	not endswith(_without_dot(h), ".")
} else := {}

_without_dot(h) := substring(h, 0, count(h) - 1) if endswith(h, ".")

else := h

# _numeric_end(h): the last label (before one trailing dot) is a number, so WHATWG parses h as IPv4.
_numeric_end(h) if regex.match(\`(^|\\.)([0-9]+|0x[0-9a-f]*)\\.?$\`, h)

_dotted_quad(s) if {
	regex.match(\`^(0|[1-9][0-9]{0,2})(\\.(0|[1-9][0-9]{0,2})){3}$\`, s)
	every o in split(s, ".") {
		to_number(o) <= 255
	}
}

# _kind_url(v): {"value": href, "parts": {scheme, host, port, path}} for a URL of a special scheme
# already in WHATWG form (exactly as WHATWG: an upper-case ASCII scheme or host is lower-cased, a missing path
# added, a default or zero-padded port rewritten); {"unsure": why} for any other string.
_kind_url(v) := {} if {
	not is_string(v)
} else := {} if {
	contains(v, "\\u0000")
} else := r if {
	[m] := regex.find_all_string_submatch_n(\`^(?i:(http|https|ws|wss|ftp))://([\\x21-\\x7e]+?)(:[0-9]*)?(/[^?#]*)?(\\?[^#]*)?(#.*)?$\`, v, 1)
	not regex.match(\`[/?#:@\\[\\]\\\\]\`, m[2])
	r := _url_parts(lower(m[1]), lower(m[2]), m[3], m[4], m[5], m[6])
} else := {"unsure": "is not a URL in canonical form (http, https, ws, wss or ftp scheme, ASCII host, no credentials, no dot segments)"}

_url_parts(scheme, host, port, path, query, fragment) := {"value": href, "parts": object.union(parts, _url_host(host))} if {
	_url_host_canonical(host)
	regex.match(\`^(\\?[A-Za-z0-9\\-._~!$&()*+,;=:@/?%\\[\\]|^{}\\x60]*)?$\`, query)
	regex.match(\`^(#[A-Za-z0-9\\-._~!$&'()*+,;=:@/?%#\\[\\]|^{}]*)?$\`, fragment)
	p := _url_port(scheme, port)
	full := _url_path(path)
	href := concat("", [scheme, "://", host, _url_port_text(scheme, p), full, query, fragment])
	parts := {"scheme": scheme, "port": p, "path": full}
}

_url_host_canonical(host) if {
	not regex.match(\`[^\\x21-\\x7e]|[#%/:<>?@\\[\\\\\\]^|]\`, host)
	not regex.match(\`(^|\\.)xn--\`, host)
	not _numeric_end(host)
}

_url_host_canonical(host) if {
	_dotted_quad(host)
}

_url_host(host) := {"host": h} if {
	h := _without_dot(host)
	h != ""
	not endswith(h, ".")
} else := {}

_url_default_port := {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}

# _url_port: the port number, the scheme's default when absent or empty (WHATWG reads leading zeros).
_url_port(scheme, port) := _url_default_port[scheme] if {
	port in {"", ":"}
} else := n if {
	regex.match(\`^:0*[0-9]{1,5}$\`, port)
	n := _decimal(trim_left(substring(port, 1, -1), "0"))
	n <= 65535
}

_decimal(digits) := 0 if {
	digits == ""
} else := to_number(digits)

# _url_port_text: the port as the href writes it: nothing for the scheme's default.
_url_port_text(scheme, n) := "" if {
	n == _url_default_port[scheme]
} else := concat("", [":", format_int(n, 10)])

_url_path(path) := "/" if {
	path == ""
} else := path if {
	regex.match(\`^(/[A-Za-z0-9\\-._~!$&'()*+,;=:@%\\[\\]|^]*)+$\`, path)
	not regex.match(\`(?i)/(\\.|%2e){1,2}(/|$)\`, path)
}

# _kind_email(v): {"value": local@domain, "parts": {local, domain}} with the domain as _kind_domain.
_kind_email(v) := {} if {
	not is_string(v)
} else := {} if {
	regex.match(\`[\\s\\x00\\x0b\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}<>,;]\`, v)
} else := r if {
	parts := split(v, "@")
	count(parts) > 1
	local := concat("@", array.slice(parts, 0, count(parts) - 1))
	local != ""
	r := _email(local, _kind_domain(parts[count(parts) - 1]))
} else := {}

_email(local, d) := {"value": concat("@", [local, d.value]), "parts": {"local": local, "domain": d.value}} if {
	_ = d.value
} else := d

# _kind_ip(v): {"value": text, "parts": {"bits"}} for an IPv4 address in dotted-decimal form (brackets
# removed); {"unsure": why} for any other string (other forms are parsed by ipaddr.js, not by Rego).
_kind_ip(v) := {} if {
	not is_string(v)
} else := {"value": a, "parts": {"bits": _ipv4_bits(a)}} if {
	a := _unbracket(v)
	_dotted_quad(a)
} else := {"unsure": "is not an IPv4 address in dotted-decimal form"}

_unbracket(v) := substring(v, 1, count(v) - 2) if {
	startswith(v, "[")
	endswith(v, "]")
} else := v

_ipv4_bits(a) := concat("", ["4:", concat("", [_octet_bits(to_number(o)) | some o in split(a, ".")])])

_octet_bits(n) := substring(concat("", ["00000000", b]), count(b), 8) if b := format_int(n, 2)`;
