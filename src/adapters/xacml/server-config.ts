/**
 * Configuration folder for AuthzForce CE's RESTful PDP server (Spring Boot, REST Profile of XACML
 * 3.0 with the JSON Profile): application.yml, the Spring beans, the PDP configuration and the
 * policies. One policy is the root; several are dispatched on `urn:ape:policy-hash`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ATTRIBUTE, CATEGORY, DATATYPE, escapeXml, XACML_NS, type XacmlPolicySet } from '../../compiler/xacml/index.js';

/** The path the PDP answers on (`POST`, `application/xacml+json`). */
export const PDP_PATH = '/pdp';

/** Options of the configuration folder. */
export interface PdpConfigOptions {
  /** TCP port on 127.0.0.1. */
  port: number;
  /** Policy sets to serve, with the IR hash each is selected by when there are several. */
  policies: { hash: string; set: XacmlPolicySet }[];
  /** Longest JSON string value the server accepts (default 65536). */
  maxJsonStringSize?: number;
}

const ROOT_ID = 'urn:ape:pdp-root';

function dispatcher(policies: PdpConfigOptions['policies']): string {
  const branches = policies.map(
    ({ hash, set }) => `  <PolicySet PolicySetId="${escapeXml(`${set.id}:selected`)}" Version="1.0" PolicyCombiningAlgId="urn:oasis:names:tc:xacml:3.0:policy-combining-algorithm:deny-overrides">
    <Target><AnyOf><AllOf><Match MatchId="urn:oasis:names:tc:xacml:1.0:function:string-equal">
      <AttributeValue DataType="${DATATYPE.string}">${escapeXml(hash)}</AttributeValue>
      <AttributeDesignator AttributeId="${ATTRIBUTE.policyHash}" Category="${CATEGORY.environment}" DataType="${DATATYPE.string}" MustBePresent="false"/>
    </Match></AllOf></AnyOf></Target>
    <PolicySetIdReference>${escapeXml(set.id)}</PolicySetIdReference>
  </PolicySet>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>
<PolicySet xmlns="${XACML_NS}" PolicySetId="${ROOT_ID}" Version="1.0" PolicyCombiningAlgId="urn:oasis:names:tc:xacml:1.0:policy-combining-algorithm:first-applicable">
  <Description>Selects the APE policy named by urn:ape:policy-hash; no match is NotApplicable.</Description>
  <Target/>
${branches.join('\n')}
</PolicySet>
`;
}

/** Writes the configuration folder `dir`; returns the command-line arguments that start the server from the jar. */
export function writePdpConfig(dir: string, options: PdpConfigOptions): string[] {
  const { port, policies } = options;
  if (policies.length === 0) throw new Error('no policy to serve');
  const policyDir = join(dir, 'policies');
  mkdirSync(policyDir, { recursive: true });
  policies.forEach(({ set }, i) => writeFileSync(join(policyDir, `policy-${i}.xml`), set.xml));
  const root = policies.length === 1 ? (policies[0] as { set: XacmlPolicySet }).set.id : ROOT_ID;
  if (policies.length > 1) writeFileSync(join(policyDir, 'root.xml'), dispatcher(policies));
  writeFileSync(
    join(dir, 'application.yml'),
    [
      'cxf.path: /',
      `cxf.jaxrs.server.path: ${PDP_PATH}`,
      `cfg.dir: ${JSON.stringify(dir)}`,
      'spring.beans.conf: file:${cfg.dir}/spring-beans.xml',
      'logging.config: file:${cfg.dir}/logback.xml',
      'spring.main.allow-bean-definition-overriding: true',
      'spring.main.banner-mode: "off"',
      'server:',
      '  address: 127.0.0.1',
      `  port: ${port}`,
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'pdp.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<pdp xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="http://authzforce.github.io/core/xmlns/pdp/8" version="8.1" maxVariableRefDepth="100" maxPolicyRefDepth="10">
  <policyProvider id="rootPolicyProvider" xsi:type="StaticPolicyProvider">
    <policyLocation>\${PARENT_DIR}/policies/*.xml</policyLocation>
  </policyProvider>
  <rootPolicyRef>${escapeXml(root)}</rootPolicyRef>
  <ioProcChain>
    <requestPreproc>urn:ow2:authzforce:feature:pdp:request-preproc:xacml-xml:default-lax</requestPreproc>
  </ioProcChain>
  <ioProcChain>
    <requestPreproc>urn:ow2:authzforce:feature:pdp:request-preproc:xacml-json:default-lax</requestPreproc>
    <resultPostproc>urn:ow2:authzforce:feature:pdp:result-postproc:xacml-json:default</resultPostproc>
  </ioProcChain>
</pdp>
`,
  );
  writeFileSync(
    join(dir, 'catalog.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">
  <system systemId="http://www.w3.org/2001/xml.xsd" uri="classpath:xml.xsd"/>
  <uri name="urn:oasis:names:tc:xacml:3.0:core:schema:wd-17" uri="classpath:xacml-core-v3-schema-wd-17.xsd"/>
  <uri name="http://authzforce.github.io/xmlns/pdp/ext/3" uri="classpath:pdp-ext-base.xsd"/>
</catalog>
`,
  );
  writeFileSync(
    join(dir, 'pdp-ext.xsd'),
    `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://authzforce.github.io/rest-api-model/xmlns/authzforce/ext" elementFormDefault="qualified" attributeFormDefault="unqualified" version="4.0"/>
`,
  );
  writeFileSync(
    join(dir, 'logback.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
  <appender name="STDERR" class="ch.qos.logback.core.ConsoleAppender">
    <target>System.err</target>
    <encoder><pattern>%date{ISO8601} %-5level %logger{36}: %msg%n</pattern></encoder>
  </appender>
  <logger name="org.springframework.boot.web.embedded.tomcat.TomcatWebServer" level="INFO"/>
  <root level="ERROR"><appender-ref ref="STDERR"/></root>
</configuration>
`,
  );
  const maxString = options.maxJsonStringSize ?? 65536;
  writeFileSync(
    join(dir, 'spring-beans.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<beans xmlns="http://www.springframework.org/schema/beans" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:jaxrs="http://cxf.apache.org/jaxrs" xmlns:util="http://www.springframework.org/schema/util" xmlns:core="http://cxf.apache.org/core"
  xsi:schemaLocation="http://cxf.apache.org/core http://cxf.apache.org/schemas/core.xsd
    http://cxf.apache.org/jaxrs http://cxf.apache.org/schemas/jaxrs.xsd
    http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
    http://www.springframework.org/schema/util http://www.springframework.org/schema/util/spring-util.xsd">
  <bean id="pdpEngineConf" class="org.ow2.authzforce.core.pdp.impl.PdpEngineConfiguration" factory-method="getInstance">
    <constructor-arg name="confLocation" value="file:\${cfg.dir}/pdp.xml"/>
    <constructor-arg name="catalogLocation" value="\${cfg.dir}/catalog.xml"/>
    <constructor-arg name="extensionXsdLocation" value="file:\${cfg.dir}/pdp-ext.xsd"/>
  </bean>
  <bean id="apiSchemaHandler" class="org.apache.cxf.jaxrs.utils.schemas.SchemaHandler">
    <property name="catalogLocation" value="\${cfg.dir}/catalog.xml"/>
    <property name="schemaLocations"><util:list><value>classpath:/xacml-core-v3-schema-wd-17.xsd</value></util:list></property>
  </bean>
  <core:bus>
    <core:properties><entry key="skip.default.json.provider.registration" value="true"/></core:properties>
  </core:bus>
  <jaxrs:server id="xacmlPdp" address="\${cxf.jaxrs.server.path}" staticSubresourceResolution="true">
    <jaxrs:serviceBeans>
      <bean class="org.ow2.authzforce.rest.pdp.jaxrs.JaxrsPdpResource"><constructor-arg ref="pdpEngineConf"/></bean>
    </jaxrs:serviceBeans>
    <jaxrs:providers>
      <bean class="org.apache.cxf.jaxrs.provider.JAXBElementProvider">
        <property name="singleJaxbContext" value="true"/>
        <property name="schemaHandler" ref="apiSchemaHandler"/>
      </bean>
      <bean class="org.ow2.authzforce.jaxrs.util.JsonRiJaxrsProvider">
        <constructor-arg name="schema" value="#{T(org.ow2.authzforce.xacml.json.model.XacmlJsonUtils).REQUEST_SCHEMA}"/>
        <constructor-arg name="maxJsonStringSize" value="${maxString}"/>
        <constructor-arg name="maxNumOfImmediateChildren" value="1000"/>
        <constructor-arg name="maxDepth" value="100"/>
      </bean>
      <bean class="org.ow2.authzforce.jaxrs.util.BadRequestExceptionMapper"/>
      <bean class="org.ow2.authzforce.jaxrs.util.ClientErrorExceptionMapper"/>
      <bean class="org.ow2.authzforce.jaxrs.util.UnsupportedOperationExceptionMapper"/>
      <bean class="org.ow2.authzforce.jaxrs.util.ServerErrorExceptionMapper"/>
      <bean class="org.ow2.authzforce.jaxrs.util.DefaultExceptionMapper"/>
    </jaxrs:providers>
  </jaxrs:server>
</beans>
`,
  );
  return [`--spring.config.location=file:${join(dir, 'application.yml')}`];
}
