/**
 * The certificate and key emu's listener holders use for the swarm API's mutual TLS on 2377
 * (listeners.ts): a self-signed ECDSA P-256 certificate, as swarmkit's node certificates are
 * P-256, made once for tests with `openssl req -x509 -newkey ec -pkeyopt
 * ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj "/O=cnmlab/OU=swarm-manager/CN=cnmlab-swarm-test"`.
 * It protects nothing: its key is public here, and every byte the holders send is random.
 */
export const SWARM_TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIB4TCCAYegAwIBAgIULqkE5anUZZ05xcTLV7FZC9jjA+AwCgYIKoZIzj0EAwIw
RTEPMA0GA1UECgwGY25tbGFiMRYwFAYDVQQLDA1zd2FybS1tYW5hZ2VyMRowGAYD
VQQDDBFjbm1sYWItc3dhcm0tdGVzdDAgFw0yNjExMzAwNjIzNTNaGA8yMTI2MTEw
NjA2MjM1M1owRTEPMA0GA1UECgwGY25tbGFiMRYwFAYDVQQLDA1zd2FybS1tYW5h
Z2VyMRowGAYDVQQDDBFjbm1sYWItc3dhcm0tdGVzdDBZMBMGByqGSM49AgEGCCqG
SM49AwEHA0IABCLx8TQ8lwYAm60GpT54gvLpvftpbRi6TA/KlM9VpL5q+pzW9scU
phgE/Aq/LDPSe5Jokrb8WS/RQH3TSY6oC26jUzBRMB0GA1UdDgQWBBRr7eWEuYtf
2FhIHuD7Cg4KlTfBmzAfBgNVHSMEGDAWgBRr7eWEuYtf2FhIHuD7Cg4KlTfBmzAP
BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIAcaXa0bDE8iTFcQvV1D
W3nMJD9IZrfn3K5TsTc7YKndAiEA/UGpH407AlDYUwb0xZfuBxJ8TAABtR2/kgxb
tKGCiyw=
-----END CERTIFICATE-----
`;

export const SWARM_TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgp2yFMfcUsnSm2AJM
2rWRLW+xafx5ljciAubSugoTCIShRANCAAQi8fE0PJcGAJutBqU+eILy6b37aW0Y
ukwPypTPVaS+avqc1vbHFKYYBPwKvywz0nuSaJK2/Fkv0UB900mOqAtu
-----END PRIVATE KEY-----
`;
