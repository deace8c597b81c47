// Tells Metro's policy engine which WS-SecurityPolicy assertions this peer implements.
//
// Debian's libjaxws-java is the JAX-WS RI without WSIT's security module, so by itself it knows
// no sp:* assertion. WSIT registers a validator through this same SPI
// (META-INF/services/com.sun.xml.ws.policy.spi.PolicyAssertionValidator); this one claims only
// what HighwayPeer's SOAPHandler really does: UsernameToken supporting tokens (text or digest)
// and the HTTPS transport binding. Signatures (AsymmetricBinding) are declared unsupported, so
// Metro selects a UsernameToken alternative. Anything outside the SecurityPolicy namespace (for
// example a wsdl:documentation placed inside wsp:Policy) stays UNKNOWN and is logged as WSP0075,
// which the pytest test asserts never happens.

import com.sun.xml.ws.policy.PolicyAssertion;
import com.sun.xml.ws.policy.spi.PolicyAssertionValidator;
import java.util.Set;

public final class UsernameTokenPolicyValidator implements PolicyAssertionValidator {
    static final String SP = "http://docs.oasis-open.org/ws-sx/ws-securitypolicy/200702";
    static final Set<String> IMPLEMENTED = Set.of(
        "SupportingTokens", "UsernameToken", "WssUsernameToken10", "HashPassword",
        "TransportBinding", "TransportToken", "HttpsToken", "AlgorithmSuite", "Basic256Sha256",
        "Layout", "Lax");

    @Override
    public Fitness validateClientSide(PolicyAssertion assertion) {
        if (!SP.equals(assertion.getName().getNamespaceURI())) {
            return Fitness.UNKNOWN;
        }
        return IMPLEMENTED.contains(assertion.getName().getLocalPart())
            ? Fitness.SUPPORTED : Fitness.UNSUPPORTED;
    }

    @Override
    public Fitness validateServerSide(PolicyAssertion assertion) {
        return Fitness.UNKNOWN;  // this peer is a client only
    }

    @Override
    public String[] declareSupportedDomains() {
        return new String[] {SP};
    }
}
