// A small gSOAP client built from stubs that wsdl2h + soapcpp2 generated from the checked-in WSDL.
//
// Usage: client URL none|text|digest [USER PASSWORD]
//
// It calls ListHighways, GetTravelTimes and ReportObservations, then provokes a schema fault (highway ASDFGHJ) and
// an unknown-highway fault (9999), printing one "key=value" line per call for the pytest test
// to assert. Authentication uses gSOAP's own WS-Security plugin (plugin/wsseapi.h), the way a
// gSOAP user would: a UsernameToken with PasswordText, or PasswordDigest with Nonce and Created.
// Exit status: 0 when every call ended as expected (results or SOAP faults), 1 otherwise.

#include "soapHighwayTrafficSoapBindingProxy.h"
#include "HighwayTrafficSoapBinding.nsmap"
#include "wsseapi.h"

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace {

enum class Auth { None, Text, Digest };

struct Options {
  const char *url = nullptr;
  Auth auth = Auth::None;
  const char *user = "";
  const char *password = "";
};

// A fresh wsse:Security header for the next request: a digest's Nonce must never be reused,
// so the token is rebuilt before every call rather than once per proxy.
bool add_security(HighwayTrafficSoapBindingProxy &proxy, const Options &options) {
  soap_wsse_delete_Security(proxy.soap);
  if (options.auth == Auth::None) {
    return true;
  }
  int rc = options.auth == Auth::Text
               ? soap_wsse_add_UsernameTokenText(proxy.soap, "User", options.user, options.password)
               : soap_wsse_add_UsernameTokenDigest(proxy.soap, "User", options.user,
                                                   options.password);
  if (rc != SOAP_OK) {
    std::printf("error stage=wsse code=%d\n", rc);
    return false;
  }
  return true;
}

// Print a fault as "faultcode=... detail=..." from the SOAP 1.1 Fault and our tns:ServiceFault.
void print_fault(const char *label, HighwayTrafficSoapBindingProxy &proxy) {
  struct soap *soap = proxy.soap;
  const char **code = soap_faultcode(soap);
  const char **text = soap_faultstring(soap);
  std::string detail_code = "-";
  std::string correlation = "-";
  if (soap->fault != nullptr && soap->fault->detail != nullptr &&
      soap->fault->detail->ht__ServiceFault != nullptr) {
    detail_code = soap->fault->detail->ht__ServiceFault->code;
    correlation = soap->fault->detail->ht__ServiceFault->correlationId;
  }
  std::printf("fault call=%s error=%d faultcode=%s detail=%s correlation=%s faultstring=%s\n",
              label, soap->error, code && *code ? *code : "-", detail_code.c_str(),
              correlation.c_str(), text && *text ? *text : "-");
}

bool list_highways(HighwayTrafficSoapBindingProxy &proxy, const Options &options) {
  _ht__ListHighways request;
  _ht__ListHighwaysResponse response;
  if (!add_security(proxy, options)) {
    return false;
  }
  if (proxy.ListHighways(&request, response) != SOAP_OK) {
    print_fault("ListHighways", proxy);
    return true;  // a fault is an answer; the test decides whether it was the expected one
  }
  std::string ids;
  for (const ht__HighwaySummary *highway : response.highway) {
    ids += (ids.empty() ? "" : ",") + highway->id;
  }
  std::printf("ok call=ListHighways count=%zu ids=%s\n", response.highway.size(), ids.c_str());
  return true;
}

bool travel_times(HighwayTrafficSoapBindingProxy &proxy, const Options &options,
                  const char *highway) {
  _ht__GetTravelTimes request;
  _ht__GetTravelTimesResponse response;
  request.highway = highway;
  if (!add_security(proxy, options)) {
    return false;
  }
  std::string label = std::string("GetTravelTimes:") + highway;
  if (proxy.GetTravelTimes(&request, response) != SOAP_OK) {
    print_fault(label.c_str(), proxy);
    return true;
  }
  std::string directions;
  size_t segments = 0;
  for (const ht__DirectionTravelTime *direction : response.travelTime) {
    directions += (directions.empty() ? "" : ",") +
                  std::string(soap_ht__Direction2s(proxy.soap, direction->direction));
    segments += direction->segment.size();
  }
  const char *first = "-";
  if (!response.travelTime.empty() && !response.travelTime[0]->segment.empty()) {
    first = response.travelTime[0]->segment[0]->segmentId.c_str();
  }
  std::printf("ok call=%s directions=%s segments=%zu first=%s\n", label.c_str(),
              directions.c_str(), segments, first);
  return true;
}

bool report_observation(HighwayTrafficSoapBindingProxy &proxy, const Options &options) {
  _ht__ReportObservations request;
  _ht__ReportObservationsResponse response;
  ht__Observation observation;
  // A sensor id unique to this run, so a repeated run still reports accepted=1.
  observation.sensorId = "gsoap-" + std::to_string(std::time(nullptr)) + "-" +
                         std::to_string(soap_random);
  observation.segmentId = "217-NB-03";
  observation.observedAt = std::time(nullptr);  // serialized as UTC with a Z
  observation.speedKph = 42.5;                  // written "%.2lf", the schema's fractionDigits
  request.observation.push_back(&observation);
  if (!add_security(proxy, options)) {
    return false;
  }
  if (proxy.ReportObservations(&request, response) != SOAP_OK) {
    print_fault("ReportObservations", proxy);
    return true;
  }
  std::printf("ok call=ReportObservations accepted=%lld duplicates=%lld\n",
              static_cast<long long>(response.accepted),
              static_cast<long long>(response.duplicates));
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s URL none|text|digest [USER PASSWORD]\n", argv[0]);
    return 2;
  }
  Options options;
  options.url = argv[1];
  if (std::strcmp(argv[2], "text") == 0) {
    options.auth = Auth::Text;
  } else if (std::strcmp(argv[2], "digest") == 0) {
    options.auth = Auth::Digest;
  } else if (std::strcmp(argv[2], "none") != 0) {
    std::fprintf(stderr, "unknown auth mode %s\n", argv[2]);
    return 2;
  }
  if (options.auth != Auth::None) {
    if (argc < 5) {
      std::fprintf(stderr, "auth mode %s needs USER PASSWORD\n", argv[2]);
      return 2;
    }
    options.user = argv[3];
    options.password = argv[4];
  }

  HighwayTrafficSoapBindingProxy proxy(options.url, SOAP_XML_STRICT);
  proxy.soap->send_timeout = proxy.soap->recv_timeout = 10;  // seconds: never hang the test
  proxy.soap->connect_timeout = 10;
  if (soap_register_plugin(proxy.soap, soap_wsse) != SOAP_OK) {
    std::printf("error stage=plugin\n");
    return 1;
  }

  bool ok = list_highways(proxy, options) && travel_times(proxy, options, "192") &&
            report_observation(proxy, options) && travel_times(proxy, options, "ASDFGHJ") &&
            travel_times(proxy, options, "9999");
  proxy.destroy();
  return ok ? 0 : 1;
}
