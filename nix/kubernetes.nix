# Kubernetes manifests of eosc-perf-api: the topology of the NixOS module
# (README "Deploy") as cluster objects. Nix builtins only, no nixpkgs, so
# that any Nix (Debian's 2.8 included) evaluates it:
#
#   nix-instantiate --eval --strict --json --expr \
#     'import ./nix/kubernetes.nix { host = "perf.example.org"; }' > eosc-perf-api.json
#   kubectl apply -f eosc-perf-api.json
#
# The flake wraps it as packages.<system>.kubernetes (production) and
# kubernetes-dev (development); both take these arguments through .override.
# The result is one `v1` `List` object, which kubectl applies item by item in
# order (the Namespace first). tests/kubernetes decodes every item into the
# k8s.io/api types and checks the properties described below.
#
# Production:
#   - Namespace (Pod Security Standard "restricted" enforced: every pod below
#     complies), ConfigMap of settings, Service, Ingress with TLS,
#   - Deployment of the API: `replicas` (>= 2) pods, RollingUpdate without
#     unavailable pods, uid/gid 65534 (the image's user), read-only root file
#     system, no privilege escalation, no capabilities, seccomp RuntimeDefault;
#     readiness /readyz, liveness and start-up /healthz; SECRET_KEY and
#     DB_PASSWORD as files (*_FILE) from the Secret `<name>-secrets`, which the
#     operator creates (keys secret-key and db-password), never in the store;
#   - migrations: an init container `eosc-perf-api migrate up` in every API
#     pod (the Deployment below says why not a Job),
#   - PodDisruptionBudget (at most one API pod voluntarily evicted at a time),
#   - database = "internal": PostgreSQL as a StatefulSet whose
#     PersistentVolumeClaim is mounted at /data (PGDATA = /data/pgdata, the
#     original compose file's volume), its headless Service, and a backup
#     CronJob (pg_dump -Fc to a PersistentVolumeClaim of its own, keeping the
#     newest `backup.keep` dumps); database = "external": only DB_HOST/DB_PORT,
#   - NetworkPolicies, the two networks of the compose file: everything in the
#     namespace is denied by default (ingress and egress); frontend-net = the
#     ingress controller's namespace may reach the API pods' port; backend-net
#     = only the API pods and the backup job may reach PostgreSQL's port. The
#     API may also reach DNS, HTTPS (OpenID providers, container registries)
#     and SMTP; the backup job DNS and PostgreSQL only; PostgreSQL nothing.
#
# Development (development = true): one replica, FLASK_ENV=development and the
# program's development defaults for the secrets (the database gets the
# matching password), no TLS, no NetworkPolicies, no PodDisruptionBudget and
# no backup, as the original development compose file; no Secret to create.
{
  # The container image. Default: the flake's `image` (nix/image.nix names it
  # eosc-perf-api and tags it with the package version, nix/version.nix).
  # Push it to a registry the cluster pulls from and name it here.
  image ? "eosc-perf-api:${import ./version.nix}",
  imagePullPolicy ? "IfNotPresent",
  development ? false,
  name ? "eosc-perf-api",
  namespace ? (if development then "eosc-perf-dev" else "eosc-perf"),
  # Create the Namespace (false: it exists already, managed elsewhere).
  createNamespace ? true,
  replicas ? (if development then 1 else 2),
  # Public host name of the API (null: any host, development only).
  host ? (if development then null else "perf.example.org"),
  # Secret of type kubernetes.io/tls holding the certificate of `host`
  # (null: no TLS, development only). cert-manager can fill it:
  # ingressAnnotations = { "cert-manager.io/cluster-issuer" = "letsencrypt"; }.
  tlsSecret ? (if development then null else "${name}-tls"),
  # BACKEND_ROUTE: the path prefix the API is published under. The Ingress
  # routes it to the API and (ingress-nginx) sends it as X-Script-Name, which
  # the API strips from the path and puts into its documentation page.
  backendRoute ? "/",
  ingressClassName ? "nginx",
  # Annotations of the Ingress beyond those derived for ingress-nginx.
  ingressAnnotations ? { },
  # Namespace of the ingress controller's pods: the only source the API's
  # port accepts (frontend-net).
  ingressControllerNamespace ? "ingress-nginx",
  # Where the cluster DNS runs (egress to it on port 53 is allowed).
  dnsNamespace ? "kube-system",
  dnsPodLabels ? {
    "k8s-app" = "kube-dns";
  },
  # Ports the API may reach anywhere: HTTPS for the OpenID providers and the
  # registries of BENCHMARK_IMAGE_CHECK, SMTP for MAIL_SERVER (MAIL_PORT).
  outboundPorts ? [
    443
    25
  ],
  # "internal": PostgreSQL as a StatefulSet here; "external": an existing
  # server named by `database.host`.
  database ? { },
  # ADMIN_ENTITLEMENTS, required in production as by the NixOS module: an
  # empty list makes every registered user an administrator (upstream's rule).
  adminEntitlements ? null,
  trustedOPs ? [ "https://aai.egi.eu/auth/realms/egi" ],
  # Further settings of the README's settings table, by name; lists are
  # joined with commas. They win over what is derived above.
  settings ? { },
  # Requests and limits of an API pod. A load run peaks at about 50 MiB of
  # resident memory (README "Architecture"); the limit leaves room for
  # request bodies up to MAX_BODY_BYTES (8 MiB) on many connections at once.
  apiResources ? {
    requests = {
      cpu = "100m";
      memory = "64Mi";
    };
    limits = {
      memory = "256Mi";
    };
  },
  # GOMEMLIMIT: the Go runtime collects harder before the memory limit.
  goMemLimit ? "200MiB",
  postgresImage ? "docker.io/library/postgres:17",
  postgresResources ? {
    requests = {
      cpu = "250m";
      memory = "256Mi";
    };
    limits = {
      memory = "1Gi";
    };
  },
  storageClassName ? null,
  dataSize ? "10Gi",
  backup ? { },
}:

let
  db = {
    mode = "internal";
    host = null;
    port = 5432;
    name = "eosc_perf";
    user = "eosc_perf";
  }
  // database;
  internalDB = db.mode == "internal";
  bk = {
    # Daily at 03:17 (cron, the controller's time zone unless timeZone).
    schedule = "17 3 * * *";
    keep = 7;
    size = "20Gi";
  }
  // backup;
  withBackup = internalDB && !development;
  withPolicies = !development;
  tls = tlsSecret != null;

  apiPort = 5000;
  dbServiceName = "${name}-db";
  dbHost = if internalDB then dbServiceName else db.host;
  secretName = "${name}-secrets";
  secretDir = "/run/secrets/${name}";
  prefix =
    let
      stripped = builtins.head (builtins.match "(.*[^/])?/*" backendRoute);
    in
    if stripped == null then "/" else stripped;

  labelsOf = component: {
    "app.kubernetes.io/name" = "eosc-perf-api";
    "app.kubernetes.io/instance" = name;
    "app.kubernetes.io/component" = component;
  };
  apiLabels = labelsOf "api";
  dbLabels = labelsOf "database";
  backupLabels = labelsOf "backup";
  meta = objName: component: {
    name = objName;
    inherit namespace;
    labels = labelsOf component // {
      "app.kubernetes.io/version" = import ./version.nix;
      "app.kubernetes.io/managed-by" = "nix";
    };
  };

  # `restricted` Pod Security Standard, for every container.
  containerSecurity = {
    runAsNonRoot = true;
    allowPrivilegeEscalation = false;
    readOnlyRootFilesystem = true;
    capabilities.drop = [ "ALL" ];
    seccompProfile.type = "RuntimeDefault";
  };
  podSecurity = uid: {
    runAsNonRoot = true;
    runAsUser = uid;
    runAsGroup = uid;
    fsGroup = uid;
    seccompProfile.type = "RuntimeDefault";
  };
  # The image's user (nix/image.nix: User = "65534:65534").
  apiUid = 65534;
  # The postgres user of the official image (it runs as any uid that owns
  # PGDATA; fsGroup makes the volume writable for it).
  postgresUid = 999;

  toSetting = v: if builtins.isList v then builtins.concatStringsSep "," v else toString v;
  apiSettings =
    {
      FLASK_ENV = if development then "development" else "production";
      LISTEN_ADDR = ":${toString apiPort}";
      DB_HOST = dbHost;
      DB_PORT = toString db.port;
      DB_NAME = db.name;
      DB_USER = db.user;
      BACKEND_ROUTE = prefix;
      TRUSTED_OP_LIST = builtins.concatStringsSep "," trustedOPs;
      ADMIN_ENTITLEMENTS = builtins.concatStringsSep "," (
        if adminEntitlements == null then [ ] else adminEntitlements
      );
    }
    # Development: no DB_PASSWORD or SECRET_KEY, the program's development
    # defaults (not-so-secret) apply; the StatefulSet gets that password.
    // builtins.mapAttrs (_: toSetting) settings;

  secretFiles =
    if development then
      [ ]
    else
      [
        {
          env = "SECRET_KEY_FILE";
          key = "secret-key";
        }
        {
          env = "DB_PASSWORD_FILE";
          key = "db-password";
        }
      ];
  # The operator's Secret, with the keys a pod needs as files.
  secretVolumeOf = keys: {
    name = "secrets";
    secret = {
      inherit secretName;
      # Readable by the pods' group (fsGroup), nobody else.
      defaultMode = 288; # 0440
      items = map (key: {
        inherit key;
        path = key;
      }) keys;
    };
  };
  secretVolume = secretVolumeOf (map (f: f.key) secretFiles);
  dbPasswordVolume = secretVolumeOf [ "db-password" ];
  secretMount = {
    name = "secrets";
    mountPath = secretDir;
    readOnly = true;
  };
  tmpVolume = {
    name = "tmp";
    emptyDir.sizeLimit = "64Mi";
  };
  tmpMount = {
    name = "tmp";
    mountPath = "/tmp";
  };

  # What every container of the API pod gets: settings, secrets, /tmp.
  apiContainer = extra: {
    inherit image imagePullPolicy;
    envFrom = [ { configMapRef.name = "${name}-settings"; } ];
    env =
      map (f: {
        name = f.env;
        value = "${secretDir}/${f.key}";
      }) secretFiles
      ++ [
        {
          name = "GOMEMLIMIT";
          value = goMemLimit;
        }
      ];
    volumeMounts = [ tmpMount ] ++ (if secretFiles == [ ] then [ ] else [ secretMount ]);
    resources = apiResources;
    securityContext = containerSecurity;
  }
  // extra;

  namespaceObj = {
    apiVersion = "v1";
    kind = "Namespace";
    metadata = {
      name = namespace;
      labels = {
        "pod-security.kubernetes.io/enforce" = "restricted";
        "pod-security.kubernetes.io/warn" = "restricted";
      };
    };
  };

  configMap = {
    apiVersion = "v1";
    kind = "ConfigMap";
    metadata = meta "${name}-settings" "api";
    data = apiSettings;
  };

  deployment = {
    apiVersion = "apps/v1";
    kind = "Deployment";
    metadata = meta name "api";
    spec = {
      inherit replicas;
      revisionHistoryLimit = 5;
      selector.matchLabels = apiLabels;
      # A new pod must be ready before an old one goes: the API keeps
      # serving through an upgrade.
      strategy = {
        type = "RollingUpdate";
        rollingUpdate = {
          maxUnavailable = 0;
          maxSurge = 1;
        };
      };
      template = {
        metadata = {
          labels = apiLabels;
          # A change of the settings rolls the pods (they read the ConfigMap
          # at start only).
          annotations."eosc-perf-api/settings-sha256" = builtins.hashString "sha256" (
            builtins.toJSON apiSettings
          );
        };
        spec = {
          automountServiceAccountToken = false;
          enableServiceLinks = false;
          securityContext = podSecurity apiUid;
          # SHUTDOWN_TIMEOUT (30 s) plus the preStop pause.
          terminationGracePeriodSeconds = 40;
          topologySpreadConstraints = [
            {
              maxSkew = 1;
              topologyKey = "kubernetes.io/hostname";
              whenUnsatisfiable = "ScheduleAnyway";
              labelSelector.matchLabels = apiLabels;
            }
          ];
          # Migrations before the pod serves, in an init container rather
          # than a Job: `kubectl apply` cannot make a Job finish before the
          # Deployment rolls, and a Job's pod template is immutable, so each
          # new image tag would need a Job of a new name. Init containers
          # also run before any probe, so a long migration is never killed
          # by the liveness probe (serve migrates too, but after that it
          # finds nothing pending).
          # Every new pod runs `migrate up`; PostgreSQL's advisory lock
          # (src/store/migrate.go) lets one apply, the others then find
          # nothing pending. A failing migration stops the rollout at the
          # first new pod while the old ones keep serving (maxUnavailable 0).
          initContainers = [
            (apiContainer {
              name = "migrate";
              args = [
                "migrate"
                "up"
              ];
            })
          ];
          containers = [
            (apiContainer {
              name = "api";
              args = [ "serve" ];
              ports = [
                {
                  name = "http";
                  containerPort = apiPort;
                  protocol = "TCP";
                }
              ];
              startupProbe = {
                httpGet = {
                  path = "/healthz";
                  port = "http";
                };
                # serve waits for the database up to DB_WAIT_TIMEOUT (60 s).
                periodSeconds = 2;
                failureThreshold = 40;
              };
              livenessProbe = {
                httpGet = {
                  path = "/healthz";
                  port = "http";
                };
                periodSeconds = 10;
                timeoutSeconds = 3;
                failureThreshold = 3;
              };
              readinessProbe = {
                httpGet = {
                  path = "/readyz";
                  port = "http";
                };
                # /readyz gives the database 3 s.
                periodSeconds = 5;
                timeoutSeconds = 4;
                failureThreshold = 2;
              };
              # Let the endpoints controller and the ingress controller drop
              # the pod before it stops accepting connections.
              lifecycle.preStop.sleep.seconds = 5;
            })
          ];
          volumes = [ tmpVolume ] ++ (if secretFiles == [ ] then [ ] else [ secretVolume ]);
        };
      };
    };
  };

  service = {
    apiVersion = "v1";
    kind = "Service";
    metadata = meta name "api";
    spec = {
      type = "ClusterIP";
      selector = apiLabels;
      ports = [
        {
          name = "http";
          port = 80;
          targetPort = "http";
          protocol = "TCP";
        }
      ];
    };
  };

  nginxAnnotations =
    if ingressClassName == "nginx" then
      {
        # MAX_BODY_BYTES (8 MiB); ingress-nginx refuses more than 1 MiB
        # by default.
        "nginx.ingress.kubernetes.io/proxy-body-size" = "8m";
      }
      // (
        if prefix != "/" then
          {
            # X-Script-Name tells the API its prefix. ingress-nginx needs
            # snippet annotations allowed for this (controller settings
            # allow-snippet-annotations=true, annotations-risk-level=Critical).
            "nginx.ingress.kubernetes.io/configuration-snippet" =
              "proxy_set_header X-Script-Name ${prefix};\n";
          }
        else
          { }
      )
      // (if tls then { "nginx.ingress.kubernetes.io/ssl-redirect" = "true"; } else { })
    else
      { };

  ingress = {
    apiVersion = "networking.k8s.io/v1";
    kind = "Ingress";
    metadata = meta name "api" // {
      annotations = nginxAnnotations // ingressAnnotations;
    };
    spec = {
      inherit ingressClassName;
      rules = [
        (
          (if host == null then { } else { inherit host; })
          // {
            http.paths = [
              {
                path = prefix;
                pathType = "Prefix";
                backend.service = {
                  inherit name;
                  port.name = "http";
                };
              }
            ];
          }
        )
      ];
    }
    // (
      if tls then
        {
          tls = [
            {
              hosts = [ host ];
              secretName = tlsSecret;
            }
          ];
        }
      else
        { }
    );
  };

  pdb = {
    apiVersion = "policy/v1";
    kind = "PodDisruptionBudget";
    metadata = meta name "api";
    spec = {
      maxUnavailable = 1;
      selector.matchLabels = apiLabels;
    };
  };

  # --- database (internal) ---
  dbService = {
    apiVersion = "v1";
    kind = "Service";
    metadata = meta dbServiceName "database";
    spec = {
      # Headless: the StatefulSet's governing service; DB_HOST resolves to
      # the pod.
      clusterIP = "None";
      selector = dbLabels;
      ports = [
        {
          name = "postgres";
          port = db.port;
          targetPort = "postgres";
          protocol = "TCP";
        }
      ];
    };
  };

  pvcSpec = size: {
    accessModes = [ "ReadWriteOnce" ];
    resources.requests.storage = size;
  }
  // (if storageClassName == null then { } else { inherit storageClassName; });

  statefulSet = {
    apiVersion = "apps/v1";
    kind = "StatefulSet";
    metadata = meta dbServiceName "database";
    spec = {
      serviceName = dbServiceName;
      replicas = 1;
      selector.matchLabels = dbLabels;
      template = {
        metadata.labels = dbLabels;
        spec = {
          automountServiceAccountToken = false;
          enableServiceLinks = false;
          securityContext = podSecurity postgresUid;
          terminationGracePeriodSeconds = 60;
          containers = [
            {
              name = "postgres";
              image = postgresImage;
              inherit imagePullPolicy;
              args = [
                "-c"
                "port=${toString db.port}"
              ];
              env = [
                {
                  name = "POSTGRES_USER";
                  value = db.user;
                }
                {
                  name = "POSTGRES_DB";
                  value = db.name;
                }
                {
                  name = "PGDATA";
                  value = "/data/pgdata";
                }
              ]
              ++ (
                if development then
                  [
                    {
                      name = "POSTGRES_PASSWORD";
                      value = "not-so-secret";
                    }
                  ]
                else
                  [
                    {
                      name = "POSTGRES_PASSWORD_FILE";
                      value = "${secretDir}/db-password";
                    }
                  ]
              );
              ports = [
                {
                  name = "postgres";
                  containerPort = db.port;
                  protocol = "TCP";
                }
              ];
              readinessProbe = {
                exec.command = [
                  "pg_isready"
                  "--host=127.0.0.1"
                  "--port=${toString db.port}"
                  "--username=${db.user}"
                  "--dbname=${db.name}"
                ];
                periodSeconds = 5;
                timeoutSeconds = 3;
              };
              livenessProbe = {
                tcpSocket.port = "postgres";
                initialDelaySeconds = 30;
                periodSeconds = 10;
              };
              volumeMounts = [
                {
                  name = "data";
                  mountPath = "/data";
                }
                {
                  # The server's socket directory; the root is read-only.
                  name = "run";
                  mountPath = "/var/run/postgresql";
                }
                tmpMount
              ]
              ++ (if development then [ ] else [ secretMount ]);
              resources = postgresResources;
              securityContext = containerSecurity;
            }
          ];
          volumes = [
            {
              name = "run";
              emptyDir = { };
            }
            tmpVolume
          ]
          ++ (
            if development then [ ] else [ dbPasswordVolume ]
          );
        };
      };
      volumeClaimTemplates = [
        {
          metadata = {
            name = "data";
            labels = dbLabels;
          };
          spec = pvcSpec dataSize;
        }
      ];
    };
  };

  # --- backup (internal database, production) ---
  backupPVC = {
    apiVersion = "v1";
    kind = "PersistentVolumeClaim";
    metadata = meta "${name}-backup" "backup";
    spec = pvcSpec bk.size;
  };

  backupScript = ''
    set -eu
    export PGPASSWORD="$(cat ${secretDir}/db-password)"
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    pg_dump --format=custom --host=${dbHost} --port=${toString db.port} \
      --username=${db.user} --dbname=${db.name} --file=/backup/.partial.dump
    mv /backup/.partial.dump "/backup/eosc-perf-$stamp.dump"
    ls -1 /backup/eosc-perf-*.dump | sort -r | tail -n +${toString (bk.keep + 1)} | xargs -r rm --
    ls -l /backup
  '';

  cronJob = {
    apiVersion = "batch/v1";
    kind = "CronJob";
    metadata = meta "${name}-backup" "backup";
    spec = {
      inherit (bk) schedule;
      concurrencyPolicy = "Forbid";
      successfulJobsHistoryLimit = 3;
      failedJobsHistoryLimit = 3;
      jobTemplate.spec = {
        backoffLimit = 2;
        template = {
          metadata.labels = backupLabels;
          spec = {
            restartPolicy = "OnFailure";
            automountServiceAccountToken = false;
            enableServiceLinks = false;
            securityContext = podSecurity postgresUid;
            containers = [
              {
                name = "pg-dump";
                image = postgresImage;
                inherit imagePullPolicy;
                command = [
                  "sh"
                  "-c"
                  backupScript
                ];
                volumeMounts = [
                  {
                    name = "backup";
                    mountPath = "/backup";
                  }
                  secretMount
                  tmpMount
                ];
                resources = {
                  requests = {
                    cpu = "100m";
                    memory = "64Mi";
                  };
                  limits.memory = "512Mi";
                };
                securityContext = containerSecurity;
              }
            ];
            volumes = [
              {
                name = "backup";
                persistentVolumeClaim.claimName = "${name}-backup";
              }
              dbPasswordVolume
              tmpVolume
            ];
          };
        };
      };
    };
  };

  # --- NetworkPolicies ---
  policy = objName: spec: {
    apiVersion = "networking.k8s.io/v1";
    kind = "NetworkPolicy";
    metadata = meta objName "network";
    inherit spec;
  };
  tcp = port: {
    protocol = "TCP";
    inherit port;
  };
  dnsEgress = {
    to = [
      {
        namespaceSelector.matchLabels."kubernetes.io/metadata.name" = dnsNamespace;
        podSelector.matchLabels = dnsPodLabels;
      }
    ];
    ports = [
      {
        protocol = "UDP";
        port = 53;
      }
      (tcp 53)
    ];
  };
  anywhere = [
    { ipBlock.cidr = "0.0.0.0/0"; }
    { ipBlock.cidr = "::/0"; }
  ];
  dbEgress =
    if internalDB then
      {
        to = [ { podSelector.matchLabels = dbLabels; } ];
        ports = [ (tcp db.port) ];
      }
    else
      {
        to = anywhere;
        ports = [ (tcp db.port) ];
      };

  policies = [
    # Everything in the namespace: no traffic unless a policy below allows it.
    (policy "${name}-default-deny" {
      podSelector = { };
      policyTypes = [
        "Ingress"
        "Egress"
      ];
    })
    # frontend-net: the ingress controller → the API's port.
    (policy "${name}-api" {
      podSelector.matchLabels = apiLabels;
      policyTypes = [
        "Ingress"
        "Egress"
      ];
      ingress = [
        {
          from = [
            { namespaceSelector.matchLabels."kubernetes.io/metadata.name" = ingressControllerNamespace; }
          ];
          ports = [ (tcp apiPort) ];
        }
      ];
      egress = [
        dnsEgress
        dbEgress
        {
          to = anywhere;
          ports = map tcp outboundPorts;
        }
      ];
    })
  ]
  ++ (
    if internalDB then
      [
        # backend-net: the API pods and the backup job → PostgreSQL's port.
        (policy "${name}-database" {
          podSelector.matchLabels = dbLabels;
          policyTypes = [
            "Ingress"
            "Egress"
          ];
          ingress = [
            {
              from = [
                { podSelector.matchLabels = apiLabels; }
                { podSelector.matchLabels = backupLabels; }
              ];
              ports = [ (tcp db.port) ];
            }
          ];
          egress = [ ];
        })
        (policy "${name}-backup" {
          podSelector.matchLabels = backupLabels;
          policyTypes = [
            "Ingress"
            "Egress"
          ];
          ingress = [ ];
          egress = [
            dnsEgress
            dbEgress
          ];
        })
      ]
    else
      [ ]
  );

  checks = [
    {
      ok = db.mode == "internal" || db.mode == "external";
      msg = "database.mode must be \"internal\" or \"external\", not \"${toString db.mode}\"";
    }
    {
      ok = internalDB || builtins.isString db.host && db.host != "";
      msg = "database.mode = \"external\" needs database.host";
    }
    {
      ok = builtins.isInt replicas && replicas >= 1;
      msg = "replicas must be a positive integer";
    }
    {
      ok = development || replicas >= 2;
      msg = "production needs at least 2 replicas (PodDisruptionBudget, rolling updates)";
    }
    {
      ok = development || tls && host != null;
      msg = "production needs host and tlsSecret (the Ingress serves HTTPS only)";
    }
    {
      ok = development || adminEntitlements != null;
      msg = "production needs adminEntitlements (an empty list makes every registered user an administrator)";
    }
    {
      ok = builtins.substring 0 1 prefix == "/" && builtins.match "[A-Za-z0-9/._~%-]*" prefix != null;
      msg = "backendRoute must be an absolute path of plain characters, not \"${backendRoute}\"";
    }
    {
      ok = builtins.isInt bk.keep && bk.keep >= 1;
      msg = "backup.keep must be a positive integer";
    }
  ];
  failed = builtins.filter (c: !c.ok) checks;

  items =
    (if createNamespace then [ namespaceObj ] else [ ])
    ++ [
      configMap
      service
      ingress
    ]
    ++ (if internalDB then [ dbService statefulSet ] else [ ])
    ++ [ deployment ]
    ++ (if development then [ ] else [ pdb ])
    ++ (if withBackup then [ backupPVC cronJob ] else [ ])
    ++ (if withPolicies then policies else [ ]);
in
if failed != [ ] then
  throw ("nix/kubernetes.nix: " + builtins.concatStringsSep "; " (map (c: c.msg) failed))
else
  {
    apiVersion = "v1";
    kind = "List";
    inherit items;
  }
