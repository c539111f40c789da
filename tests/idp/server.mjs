// The identity provider the single sign-on tests sign in through: panva's oidc-provider (an
// OpenID Certified implementation) with its development sign-in pages, where a person is known by
// the name typed into the login box. Its settings come as JSON in IDP_CONFIG:
//   {"port", "issuer", "clients": [...], "accounts": {"alice": {"groups": [...]}}, "cookieKey"}
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.IDP_CONFIG);

const provider = new Provider(config.issuer, {
  clients: config.clients,
  scopes: ['openid', 'profile', 'email', 'groups'],
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
  // Claims go into the ID token itself, as Entra ID, Okta and Keycloak put a groups claim there.
  conformIdTokenClaims: false,
  findAccount: async (_ctx, id) => {
    const account = config.accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: async () => {
        const claims = { sub: id, preferred_username: id, name: id, email: `${id}@example.test` };
        if (account.groups) claims.groups = account.groups;
        return claims;
      },
    };
  },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  ttl: { IdToken: config.idTokenTtl ?? 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  cookies: { keys: [config.cookieKey] },
});
provider.proxy = false;

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`listening ${config.issuer}\n`);
});
