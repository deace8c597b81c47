<?php
// PHP SoapClient against the running service, from the WSDL it serves at URL?wsdl.
//
// Usage: php client.php WSDL_URL none|text|digest [USER PASSWORD]
//
// Calls every operation (ListHighways, GetTravelTimes, ReportObservations) and provokes a
// schema fault (highway ASDFGHJ) and an unknown-highway fault (9999), printing one
// "key=value" line per call for the pytest test to assert. PHP's SOAP extension has no
// WS-Security support of its own, so the wsse:Security block is built here the usual PHP way:
// a SoapHeader whose data is a SoapVar of type XSD_ANYXML holding the header's XML.
// Exit status: 0 when every call ended (with a result or a SoapFault), 1 otherwise.

declare(strict_types=1);

const WSSE_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const WSU_NS = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd';
const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const TOKEN_PROFILE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0';
const SOAP_MESSAGE_SECURITY = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0';

/** The wsse:Security header for one request (a digest's Nonce must never be reused). */
function security_header(string $mode, string $user, string $password): SoapHeader
{
    $esc = fn (string $text): string => htmlspecialchars($text, ENT_XML1 | ENT_QUOTES, 'UTF-8');
    $created = gmdate('Y-m-d\TH:i:s\Z');
    if ($mode === 'digest') {
        // WSS UsernameToken Profile 1.0: Base64(SHA-1(nonce + created + password)).
        $nonce = random_bytes(16);
        $digest = base64_encode(sha1($nonce . $created . $password, true));
        $secret = '<wsse:Password Type="' . TOKEN_PROFILE . '#PasswordDigest">' . $digest
            . '</wsse:Password>'
            . '<wsse:Nonce EncodingType="' . SOAP_MESSAGE_SECURITY . '#Base64Binary">'
            . base64_encode($nonce) . '</wsse:Nonce>';
    } else {
        $secret = '<wsse:Password Type="' . TOKEN_PROFILE . '#PasswordText">' . $esc($password)
            . '</wsse:Password>';
    }
    // With XSD_ANYXML PHP writes this string as the header entry itself, so the element
    // carries its own namespace declarations and the mustUnderstand attribute.
    $xml = '<wsse:Security xmlns:wsse="' . WSSE_NS . '" xmlns:wsu="' . WSU_NS . '"'
        . ' xmlns:soapenv="' . SOAP11_NS . '" soapenv:mustUnderstand="1">'
        . '<wsse:UsernameToken wsu:Id="User">'
        . '<wsse:Username>' . $esc($user) . '</wsse:Username>' . $secret
        . '<wsu:Created>' . $created . '</wsu:Created>'
        . '</wsse:UsernameToken></wsse:Security>';
    return new SoapHeader(WSSE_NS, 'Security', new SoapVar($xml, XSD_ANYXML), true);
}

/** One output line for a SoapFault: its faultcode and our tns:ServiceFault detail code. */
function print_fault(string $call, SoapFault $fault): void
{
    $detail = $fault->detail->ServiceFault ?? null;
    printf(
        "fault call=%s faultcode=%s detail=%s correlation=%s faultstring=%s\n",
        $call,
        $fault->faultcode,
        $detail->code ?? '-',
        $detail->correlationId ?? '-',
        str_replace("\n", ' ', $fault->faultstring)
    );
}

/** Run one call with a fresh security header; print its result or its fault. */
function call(SoapClient $client, array $auth, string $label, string $operation, array $args,
              callable $describe): void
{
    if ($auth[0] !== 'none') {
        $client->__setSoapHeaders([security_header(...$auth)]);
    }
    try {
        $result = $client->__soapCall($operation, [$args]);
        printf("ok call=%s %s\n", $label, $describe($result));
    } catch (SoapFault $fault) {
        print_fault($label, $fault);
    }
}

function main(array $argv): int
{
    if (count($argv) < 3) {
        fwrite(STDERR, "usage: php client.php WSDL_URL none|text|digest [USER PASSWORD]\n");
        return 2;
    }
    [, $wsdl, $mode] = $argv;
    if (!in_array($mode, ['none', 'text', 'digest'], true) || ($mode !== 'none' && count($argv) < 5)) {
        fwrite(STDERR, "auth mode must be none, or text|digest with USER PASSWORD\n");
        return 2;
    }
    $auth = [$mode, $argv[3] ?? '', $argv[4] ?? ''];
    $client = new SoapClient($wsdl, [
        'soap_version' => SOAP_1_1,
        'exceptions' => true,
        'trace' => true,
        'cache_wsdl' => WSDL_CACHE_NONE,           // always the contract the server serves now
        'features' => SOAP_SINGLE_ELEMENT_ARRAYS,  // a maxOccurs>1 element is always an array
        'connection_timeout' => 10,
    ]);
    $functions = array_map(fn (string $f): string => preg_replace('/^\S+ (\w+)\(.*$/', '$1', $f),
                           $client->__getFunctions());
    sort($functions);
    printf("functions %s\n", implode(',', $functions));

    call($client, $auth, 'ListHighways', 'ListHighways', [],
        fn ($r) => sprintf('count=%d ids=%s', count($r->highway),
                           implode(',', array_map(fn ($h) => $h->id, $r->highway))));

    $travel = function ($r): string {
        $directions = array_map(fn ($t) => $t->direction, $r->travelTime ?? []);
        $segments = array_sum(array_map(fn ($t) => count($t->segment), $r->travelTime ?? []));
        return sprintf('directions=%s segments=%d first=%s', implode(',', $directions), $segments,
                       $r->travelTime[0]->segment[0]->segmentId ?? '-');
    };
    call($client, $auth, 'GetTravelTimes:192', 'GetTravelTimes', ['highway' => '192'], $travel);
    call($client, $auth, 'GetTravelTimes:217:NB', 'GetTravelTimes',
         ['highway' => '217', 'direction' => 'NB'], $travel);

    // A sensor id unique to this run, so a repeated run still reports accepted=1.
    $observation = [
        'sensorId' => 'php-' . bin2hex(random_bytes(4)),
        'segmentId' => '217-NB-03',
        'observedAt' => gmdate('Y-m-d\TH:i:s\Z'),
        'speedKph' => '42.5',
    ];
    call($client, $auth, 'ReportObservations', 'ReportObservations',
        ['observation' => [$observation]],
        fn ($r) => sprintf('accepted=%s duplicates=%s', $r->accepted, $r->duplicates));

    call($client, $auth, 'GetTravelTimes:ASDFGHJ', 'GetTravelTimes', ['highway' => 'ASDFGHJ'],
         $travel);
    call($client, $auth, 'GetTravelTimes:9999', 'GetTravelTimes', ['highway' => '9999'], $travel);
    return 0;
}

exit(main($argv));
