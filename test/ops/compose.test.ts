import { existsSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(root + file, 'utf8');

interface Service {
  build?: { context: string; target: string };
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  depends_on?: string[] | Record<string, { condition: string }>;
  stop_grace_period?: string;
  profiles?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml')) as Compose;
const { services } = compose;

/** `source:target[:mode]`: a bind mount when source is a path, else a named volume. */
function mounts(service: Service): { source: string; target: string; bind: boolean }[] {
  return (service.volumes ?? []).map((v) => {
    const [source, target] = v.split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}
/** Where the container sees a repository file, if it is bind-mounted. */
const mountedAt = (service: Service, repoFile: string): string | undefined =>
  mounts(service).find((m) => m.bind && posix.normalize(m.source) === posix.normalize(repoFile))?.target;

const dependsOn = (service: Service): string[] =>
  Array.isArray(service.depends_on) ? service.depends_on : Object.keys(service.depends_on ?? {});

const dockerfileStages = [...read('Dockerfile').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1]);
const seconds = (duration: string): number => {
  const m = /^(\d+)(ms|s|m)$/.exec(duration);
  expect(m, duration).not.toBeNull();
  return Number(m![1]) * { ms: 0.001, s: 1, m: 60 }[m![2] as 'ms' | 's' | 'm'];
};

describe('docker-compose.yml', () => {
  it('defines pkt-ingest, prometheus, grafana and loadgen', () => {
    expect(Object.keys(services).sort()).toEqual(['grafana', 'loadgen', 'pkt-ingest', 'prometheus']);
  });

  it('builds pkt-ingest and loadgen from Dockerfile stages that exist', () => {
    expect(services['pkt-ingest'].build).toEqual({ context: '.', target: 'runtime' });
    expect(services.loadgen.build).toEqual({ context: '.', target: 'loadgen' });
    expect(dockerfileStages).toEqual(expect.arrayContaining(['runtime', 'loadgen']));
  });

  it('pins third-party images to a version', () => {
    for (const name of ['prometheus', 'grafana']) {
      expect(services[name].image, name).toMatch(/^[\w./-]+:v?\d+\.\d+\.\d+$/);
    }
  });

  it('publishes 7400 and 7401 for pkt-ingest, 9090 for Prometheus, 3000 for Grafana', () => {
    expect(services['pkt-ingest'].ports).toEqual(['7400:7400', '7401:7401']);
    expect(services.prometheus.ports).toEqual(['9090:9090']);
    expect(services.grafana.ports).toEqual(['3000:3000']);
  });

  it('keeps captures in a named volume at /data', () => {
    const data = mounts(services['pkt-ingest']).find((m) => m.target === '/data');
    expect(data?.bind).toBe(false);
    expect(Object.keys(compose.volumes ?? {})).toContain(data?.source);
  });

  it('declares every named volume and mounts only files that exist', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const m of mounts(service)) {
        if (m.bind) expect(existsSync(root + m.source), `${name}: ${m.source}`).toBe(true);
        else expect(Object.keys(compose.volumes ?? {}), `${name}: ${m.source}`).toContain(m.source);
      }
    }
  });

  it('gives pkt-ingest more time to stop than its drain timeout', () => {
    const config = JSON.parse(read('config/docker.json')) as { shutdown: { drainTimeoutMs: number } };
    expect(seconds(services['pkt-ingest'].stop_grace_period ?? '10s')).toBeGreaterThan(config.shutdown.drainTimeoutMs / 1000);
  });

  it('starts loadgen (opt-in) once pkt-ingest is healthy, and points it at the service', () => {
    expect(services.loadgen.profiles).toEqual(['load']);
    expect(services.loadgen.depends_on).toEqual({ 'pkt-ingest': { condition: 'service_healthy' } });
    // service_healthy needs the image's HEALTHCHECK.
    expect(read('Dockerfile')).toMatch(/^HEALTHCHECK /m);
    const cmd = /^FROM\s+\S+\s+AS\s+loadgen$[\s\S]*?^CMD (\[.*\])$/m.exec(read('Dockerfile'));
    const args = services.loadgen.command ?? (JSON.parse(cmd![1]) as string[]);
    expect(args[args.indexOf('--host') + 1]).toBe('pkt-ingest');
    expect(args[args.indexOf('--port') + 1]).toBe('7400');
  });

  it('mounts prometheus.yml and the rule files it names side by side', () => {
    const prometheus = services.prometheus;
    const configPath = mountedAt(prometheus, './config/prometheus.yml');
    expect(configPath).toBe('/etc/prometheus/prometheus.yml');
    expect(prometheus.command).toContain(`--config.file=${configPath}`);
    const config = parse(read('config/prometheus.yml')) as { rule_files: string[]; scrape_configs: { static_configs: { targets: string[] }[] }[] };
    for (const rules of config.rule_files) {
      const inContainer = posix.join(posix.dirname(configPath!), rules);
      expect(mountedAt(prometheus, `./config/${rules}`), rules).toBe(inContainer);
    }
    // The scrape target is the pkt-ingest service on its HTTP port.
    const targets = config.scrape_configs.flatMap((s) => s.static_configs.flatMap((c) => c.targets));
    const httpPort = (JSON.parse(read('config/docker.json')) as { http: { port: number } }).http.port;
    expect(targets).toEqual([`pkt-ingest:${httpPort}`]);
    expect(dependsOn(prometheus)).toContain('pkt-ingest');
  });
});

describe('Grafana provisioning', () => {
  const grafana = services.grafana;
  const datasources = parse(read('config/grafana/provisioning/datasources/prometheus.yml')) as {
    datasources: { uid: string; type: string; url: string; isDefault?: boolean }[];
  };
  const providers = parse(read('config/grafana/provisioning/dashboards/pkt-ingest.yml')) as {
    providers: { type: string; options: { path: string } }[];
  };
  const dashboard = JSON.parse(read('config/grafana-dashboard.json')) as {
    uid: string;
    schemaVersion: number;
    templating: { list: { name: string; type: string; query: unknown; current?: { value: unknown } }[] };
    panels: { id: number; type: string; datasource?: { uid: string }; targets?: { expr: string; datasource: { uid: string } }[] }[];
  };

  it('mounts the provisioning directory and the dashboard where the provider looks', () => {
    expect(mountedAt(grafana, './config/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const dashboardPath = mountedAt(grafana, './config/grafana-dashboard.json');
    expect(dashboardPath).toBeDefined();
    expect(providers.providers.map((p) => p.type)).toEqual(['file']);
    expect(posix.dirname(dashboardPath!)).toBe(providers.providers[0].options.path);
    expect(grafana.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(dashboardPath);
  });

  it('points the data source at the prometheus service, and the dashboard at the data source', () => {
    expect(datasources.datasources).toHaveLength(1);
    const [ds] = datasources.datasources;
    expect(ds).toMatchObject({ type: 'prometheus', uid: 'prometheus', url: 'http://prometheus:9090', isDefault: true });
    expect(dependsOn(grafana)).toContain('prometheus');
    const variable = dashboard.templating.list.find((v) => v.name === 'DS_PROMETHEUS');
    expect(variable).toMatchObject({ type: 'datasource', query: 'prometheus', current: { value: ds.uid } });
  });

  it('has a dashboard whose every query panel reads through ${DS_PROMETHEUS}', () => {
    expect(dashboard.uid).toBe('pkt-ingest');
    expect(dashboard.schemaVersion).toBe(39);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, `panel ${panel.id}`).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, `panel ${panel.id}`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource.uid, `panel ${panel.id}`).toBe('${DS_PROMETHEUS}');
    }
  });
});
