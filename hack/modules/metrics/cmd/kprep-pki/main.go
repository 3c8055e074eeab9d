// Command kprep-pki writes the certificates kprep's add-ons need, into one folder:
//
//	front-proxy-ca.crt/.key          CA the kube-apiserver names in --requestheader-client-ca-file
//	front-proxy-client.crt/.key      the kube-apiserver's --proxy-client-cert-file/-key-file
//	                                 (CN front-proxy-client: --requestheader-allowed-names)
//	serving-ca.crt/.key              CA in every APIService and webhook caBundle
//	serving/tls.crt, serving/tls.key serving certificate of every add-on process (the
//	                                 file names controller-runtime's webhook server reads)
//
// The serving certificate carries every --host (IP address or DNS name): the
// loopback address the processes listen on for kwok, the address a kind node
// reaches the host by, and the <service>.<namespace>.svc names an APIService's
// Service resolves to. Files that exist and still fit (same CA, every host
// present, more than 30 days left) are kept, so a second run changes nothing;
// otherwise the missing or stale ones are written again, each atomically.
//
// Usage: kprep-pki --dir DIR [--front-proxy] --host 127.0.0.1 --host localhost ...
package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 2 * 365 * 24 * time.Hour
	renewBefore  = 30 * 24 * time.Hour
)

type hostList []string

func (h *hostList) String() string     { return strings.Join(*h, ",") }
func (h *hostList) Set(v string) error { *h = append(*h, v); return nil }

type keyPair struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func main() {
	dir := flag.String("dir", "", "folder for the certificates (created if missing)")
	frontProxy := flag.Bool("front-proxy", false, "also write the front-proxy CA and client certificate")
	var hosts hostList
	flag.Var(&hosts, "host", "IP address or DNS name the serving certificate must cover (repeatable)")
	flag.Parse()
	if *dir == "" || len(hosts) == 0 {
		fmt.Fprintln(os.Stderr, "usage: kprep-pki --dir DIR [--front-proxy] --host HOST [--host HOST...]")
		os.Exit(2)
	}
	if err := run(*dir, *frontProxy, hosts); err != nil {
		fmt.Fprintf(os.Stderr, "kprep-pki: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string, frontProxy bool, hosts []string) error {
	if err := os.MkdirAll(filepath.Join(dir, "serving"), 0o700); err != nil {
		return err
	}
	if frontProxy {
		ca, err := ensureCA(dir, "front-proxy-ca", "kprep-front-proxy-ca")
		if err != nil {
			return err
		}
		_, err = ensureLeaf(filepath.Join(dir, "front-proxy-client"), ca, "front-proxy-client", nil,
			x509.ExtKeyUsageClientAuth)
		if err != nil {
			return err
		}
	}
	ca, err := ensureCA(dir, "serving-ca", "kprep-addons-serving-ca")
	if err != nil {
		return err
	}
	_, err = ensureLeaf(filepath.Join(dir, "serving", "tls"), ca, "kprep-addons", hosts, x509.ExtKeyUsageServerAuth)
	return err
}

func ensureCA(dir, name, commonName string) (*keyPair, error) {
	base := filepath.Join(dir, name)
	if pair, err := load(base); err == nil && pair.cert.IsCA && fresh(pair.cert) {
		return pair, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"kprep"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return save(base, der, key)
}

func ensureLeaf(base string, ca *keyPair, commonName string, hosts []string, usage x509.ExtKeyUsage) (*keyPair, error) {
	var ips []net.IP
	var names []string
	for _, host := range hosts {
		if ip := net.ParseIP(host); ip != nil {
			ips = append(ips, ip)
		} else {
			names = append(names, host)
		}
	}
	if pair, err := load(base); err == nil && fresh(pair.cert) && pair.cert.CheckSignatureFrom(ca.cert) == nil &&
		covers(pair.cert, ips, names) {
		return pair, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	template := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"kprep"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(leafValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  ips,
		DNSNames:     names,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca.cert, key.Public(), ca.key)
	if err != nil {
		return nil, err
	}
	return save(base, der, key)
}

func covers(cert *x509.Certificate, ips []net.IP, names []string) bool {
	for _, ip := range ips {
		if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
			return false
		}
	}
	for _, name := range names {
		if !slices.Contains(cert.DNSNames, name) {
			return false
		}
	}
	return true
}

func fresh(cert *x509.Certificate) bool {
	return time.Until(cert.NotAfter) > renewBefore
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}

// load reads BASE.crt and BASE.key (or, for the serving pair, tls.crt and tls.key).
func load(base string) (*keyPair, error) {
	certPEM, err := os.ReadFile(base + ".crt")
	if err != nil {
		return nil, err
	}
	keyPEM, err := os.ReadFile(base + ".key")
	if err != nil {
		return nil, err
	}
	certBlock, _ := pem.Decode(certPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || keyBlock == nil {
		return nil, errors.New("not PEM")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, err
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("key does not match certificate")
	}
	return &keyPair{cert: cert, key: key}, nil
}

func save(base string, der []byte, key *ecdsa.PrivateKey) (*keyPair, error) {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	// The key first: a reader that sees the new certificate must find its key.
	if err := writeAtomic(base+".key", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeAtomic(base+".crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func writeAtomic(path string, data []byte, mode os.FileMode) error {
	if current, err := os.ReadFile(path); err == nil && bytes.Equal(current, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
