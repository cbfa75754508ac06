/*
 * Dump every VEVENT of an iCalendar file as UTC instants read by libical.
 *
 * Why this exists: libical (C) is the reader inside Evolution, KDE's
 * calendar stack, Cyrus and many servers, and the fourth independent reader
 * of confcal's feeds (check_feeds_libical.py compares this program's output
 * with the plan). TZID values are resolved only with the calendar's OWN
 * VTIMEZONE components: icalcomponent_get_timezone(calendar, tzid) builds
 * the zone from the file, and icaltime_as_timet_with_zone() converts the
 * wall-clock value with it. libical's built-in zones
 * (icaltimezone_get_builtin_timezone*, from the system zone database) are
 * never used, and neither is icalcomponent_get_dtstart(), which falls back
 * to them when the calendar lacks the TZID.
 *
 * Usage: check_feeds_libical FILE.ics
 * Output, one line per VEVENT:  UID<TAB>START<TAB>END  (UTC epoch seconds)
 *                           or  UID<TAB>ERROR<TAB>why
 *        and for a problem of the whole file:  <TAB>ERROR<TAB>why
 * Build: gcc -o check_feeds_libical check_feeds_libical.c $(pkg-config --cflags --libs libical)
 */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap + 1);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    fclose(f);
    if (buf) buf[len] = '\0';
    return buf;
}

/* First X-LIC-ERROR libical inserted while parsing `c` or its children. */
static const char *parse_error(icalcomponent *c)
{
    icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
    if (p) return icalproperty_get_xlicerror(p);
    for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s;
         s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
        const char *why = parse_error(s);
        if (why) return why;
    }
    return NULL;
}

/* UTC epoch seconds of DTSTART or DTEND of `ev`; NULL, or why it can't be read. */
static const char *instant(icalcomponent *cal, icalcomponent *ev, icalproperty_kind kind,
                           long long *out)
{
    icalproperty *p = icalcomponent_get_first_property(ev, kind);
    if (!p) return "missing DTSTART or DTEND";
    struct icaltimetype t = icalvalue_get_datetime(icalproperty_get_value(p));
    if (icaltime_is_null_time(t) || icaltime_is_date(t)) return "not a date-time";
    icalparameter *param = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
    if (param) {
        icaltimezone *zone = icalcomponent_get_timezone(cal, icalparameter_get_tzid(param));
        if (!zone) return "TZID has no VTIMEZONE in the calendar";
        *out = (long long)icaltime_as_timet_with_zone(t, zone);
    } else if (icaltime_is_utc(t)) {
        *out = (long long)icaltime_as_timet_with_zone(t, icaltimezone_get_utc_timezone());
    } else {
        return "floating (neither TZID nor UTC)";
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.ics\n", argv[0]);
        return 2;
    }
    char *text = slurp(argv[1]);
    if (!text) {
        perror(argv[1]);
        return 2;
    }
    icalcomponent *cal = icalparser_parse_string(text);
    free(text);
    if (!cal || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
        printf("\tERROR\tnot one VCALENDAR\n");
        return 0;
    }
    const char *why = parse_error(cal);
    if (why) printf("\tERROR\tlibical: %s\n", why);
    for (icalcomponent *ev = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); ev;
         ev = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        const char *uid = icalcomponent_get_uid(ev);
        long long start = 0, end = 0;
        why = instant(cal, ev, ICAL_DTSTART_PROPERTY, &start);
        if (!why) why = instant(cal, ev, ICAL_DTEND_PROPERTY, &end);
        if (why)
            printf("%s\tERROR\t%s\n", uid ? uid : "", why);
        else
            printf("%s\t%lld\t%lld\n", uid ? uid : "", start, end);
    }
    icalcomponent_free(cal);
    return 0;
}
