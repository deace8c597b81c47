// JAX-WS (Metro, Debian's libjaxws-java) client built from stubs that wsimport generated from
// the WSDL the server serves at URL?wsdl.
//
// Usage: java HighwayPeer WSDL_URL text|digest USER PASSWORD
//
// Calls every operation, provokes a schema fault (highway ASDFGHJ) and an unknown-highway
// fault (9999), and prints one "key=value" line per call for the pytest test to assert.
// Faults arrive as the typed ServiceFault_Exception that wsimport generates for the contract's
// wsdl:fault; its getFaultInfo() is our tns:ServiceFault detail (code, correlationId). The
// WS-Security UsernameToken is added by a SOAPHandler, the usual JAX-WS way without WSIT.
// Exit status: 0 when every call ended (with a result or a fault), 1 otherwise.

import highway.stubs.Direction;
import highway.stubs.DirectionTravelTime;
import highway.stubs.HighwaySummary;
import highway.stubs.HighwayTrafficPortType;
import highway.stubs.HighwayTrafficService;
import highway.stubs.Observation;
import highway.stubs.ServiceFault;
import highway.stubs.ServiceFault_Exception;

import java.math.BigDecimal;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import javax.xml.datatype.DatatypeFactory;
import javax.xml.namespace.QName;
import javax.xml.soap.SOAPElement;
import javax.xml.soap.SOAPEnvelope;
import javax.xml.soap.SOAPFault;
import javax.xml.soap.SOAPHeader;
import javax.xml.soap.SOAPMessage;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.Holder;
import javax.xml.ws.handler.Handler;
import javax.xml.ws.handler.MessageContext;
import javax.xml.ws.handler.soap.SOAPHandler;
import javax.xml.ws.handler.soap.SOAPMessageContext;
import javax.xml.ws.soap.SOAPFaultException;

public final class HighwayPeer {
    static final String WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    static final String WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    static final String PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
    static final String BASE64 = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

    /** Adds a fresh wsse:Security UsernameToken to every request; remembers a fault's code. */
    static final class UsernameTokenHandler implements SOAPHandler<SOAPMessageContext> {
        private final String mode;
        private final String user;
        private final String password;
        private final SecureRandom random = new SecureRandom();
        String lastFaultCode = "-";

        UsernameTokenHandler(String mode, String user, String password) {
            this.mode = mode;
            this.user = user;
            this.password = password;
        }

        @Override
        public boolean handleMessage(SOAPMessageContext context) {
            if (!(Boolean) context.get(MessageContext.MESSAGE_OUTBOUND_PROPERTY)) {
                return true;
            }
            try {
                addSecurity(context.getMessage());
            } catch (Exception e) {
                throw new RuntimeException("cannot build the wsse:Security header", e);
            }
            return true;
        }

        private void addSecurity(SOAPMessage message) throws Exception {
            SOAPEnvelope envelope = message.getSOAPPart().getEnvelope();
            SOAPHeader header = envelope.getHeader() != null ? envelope.getHeader() : envelope.addHeader();
            SOAPElement security = header.addChildElement("Security", "wsse", WSSE);
            security.addAttribute(envelope.createQName("mustUnderstand", envelope.getPrefix()), "1");
            SOAPElement token = security.addChildElement("UsernameToken", "wsse");
            token.addChildElement("Username", "wsse").addTextNode(user);
            // Created (and Nonce) must be fresh for every request: the server accepts each
            // (user, nonce) once and Created only within its time window.
            String created = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
            SOAPElement pw = token.addChildElement("Password", "wsse");
            if (mode.equals("digest")) {
                byte[] nonce = new byte[16];
                random.nextBytes(nonce);
                MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
                sha1.update(nonce);
                sha1.update(created.getBytes(StandardCharsets.UTF_8));
                sha1.update(password.getBytes(StandardCharsets.UTF_8));
                pw.setAttribute("Type", PROFILE + "#PasswordDigest");
                pw.addTextNode(Base64.getEncoder().encodeToString(sha1.digest()));
                SOAPElement n = token.addChildElement("Nonce", "wsse");
                n.setAttribute("EncodingType", BASE64);
                n.addTextNode(Base64.getEncoder().encodeToString(nonce));
            } else {
                pw.setAttribute("Type", PROFILE + "#PasswordText");
                pw.addTextNode(password);
            }
            token.addChildElement("Created", "wsu", WSU).addTextNode(created);
            message.saveChanges();
        }

        @Override
        public boolean handleFault(SOAPMessageContext context) {
            try {
                SOAPFault fault = context.getMessage().getSOAPBody().getFault();
                lastFaultCode = fault != null ? fault.getFaultCode() : "-";
            } catch (Exception e) {
                lastFaultCode = "-";
            }
            return true;
        }

        @Override
        public void close(MessageContext context) {
        }

        @Override
        public Set<QName> getHeaders() {
            // The response carries no Security header; nothing here must be understood.
            return Collections.emptySet();
        }
    }

    interface Call {
        String run() throws ServiceFault_Exception;
    }

    static void call(UsernameTokenHandler handler, String label, Call call) {
        handler.lastFaultCode = "-";
        try {
            System.out.println("ok call=" + label + " " + call.run());
        } catch (ServiceFault_Exception fault) {
            ServiceFault info = fault.getFaultInfo();
            System.out.println("fault call=" + label + " faultcode=" + handler.lastFaultCode
                + " detail=" + info.getCode() + " correlation=" + info.getCorrelationId()
                + " typed=ServiceFault_Exception faultstring=" + fault.getMessage().replace('\n', ' '));
        } catch (SOAPFaultException fault) {
            // Only a fault without our detail lands here; the test treats it as a failure.
            System.out.println("fault call=" + label + " faultcode=" + fault.getFault().getFaultCode()
                + " detail=- correlation=- typed=SOAPFaultException faultstring="
                + fault.getMessage().replace('\n', ' '));
        }
    }

    static String travel(List<DirectionTravelTime> times) {
        String directions = times.stream().map(t -> t.getDirection().value()).collect(Collectors.joining(","));
        int segments = times.stream().mapToInt(t -> t.getSegment().size()).sum();
        String first = times.isEmpty() || times.get(0).getSegment().isEmpty() ? "-"
            : times.get(0).getSegment().get(0).getSegmentId();
        return "directions=" + directions + " segments=" + segments + " first=" + first;
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4 || !(args[1].equals("text") || args[1].equals("digest"))) {
            System.err.println("usage: java HighwayPeer WSDL_URL text|digest USER PASSWORD");
            System.exit(2);
        }
        HighwayTrafficService service = new HighwayTrafficService(new URL(args[0]));
        HighwayTrafficPortType port = service.getHighwayTrafficPort();
        UsernameTokenHandler handler = new UsernameTokenHandler(args[1], args[2], args[3]);
        BindingProvider provider = (BindingProvider) port;
        @SuppressWarnings("rawtypes")
        List<Handler> chain = new ArrayList<>(provider.getBinding().getHandlerChain());
        chain.add(handler);
        provider.getBinding().setHandlerChain(chain);

        call(handler, "ListHighways", () -> {
            List<HighwaySummary> highways = port.listHighways();
            return "count=" + highways.size() + " ids="
                + highways.stream().map(HighwaySummary::getId).collect(Collectors.joining(","));
        });
        call(handler, "GetTravelTimes:192", () -> travel(port.getTravelTimes("192", null)));
        call(handler, "GetTravelTimes:217:NB", () -> travel(port.getTravelTimes("217", Direction.NB)));

        Observation observation = new Observation();
        // A sensor id unique to this run, so a repeated run still reports accepted=1.
        observation.setSensorId("jaxws-" + Long.toHexString(new SecureRandom().nextLong()));
        observation.setSegmentId("217-NB-03");
        observation.setObservedAt(DatatypeFactory.newInstance().newXMLGregorianCalendar(
            Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()));
        observation.setSpeedKph(new BigDecimal("42.5"));
        call(handler, "ReportObservations", () -> {
            Holder<Integer> accepted = new Holder<>();
            Holder<Integer> duplicates = new Holder<>();
            port.reportObservations(List.of(observation), accepted, duplicates);
            return "accepted=" + accepted.value + " duplicates=" + duplicates.value;
        });

        call(handler, "GetTravelTimes:ASDFGHJ", () -> travel(port.getTravelTimes("ASDFGHJ", null)));
        call(handler, "GetTravelTimes:9999", () -> travel(port.getTravelTimes("9999", null)));
    }
}
