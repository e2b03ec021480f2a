"""Second factors and key-based logins: CERTIFICATE (a user certificate's key signs a fresh
challenge) and FIDO (a FIDO2 authenticator asserts one), their challenges, bindings, devices,
registrations and the client side that answers a challenge at the keyboard or over SSH."""
