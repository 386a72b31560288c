#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0-or-later
# mmdb_writer.pl OUT.mmdb NETWORK=COUNTRY:ASN ... - write a MaxMind DB that
# maps each network to {country => {iso_code}, autonomous_system_number},
# the shape of GeoLite2-Country and GeoLite2-ASN in one file. For tests:
# loopback and other reserved networks are allowed.
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT.mmdb NETWORK=CC:ASN ...\n";
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version              => 6,
    record_size             => 24,
    database_type           => 'moat-test-geo',
    languages               => ['en'],
    description             => { en => 'moat test networks' },
    remove_reserved_networks => 0,
    map_key_type_callback   => sub {
        my $key = shift;
        return {
            country                        => 'map',
            iso_code                       => 'utf8_string',
            autonomous_system_number       => 'uint32',
            autonomous_system_organization => 'utf8_string',
        }->{$key};
    },
);
for my $spec (@ARGV) {
    my ($net, $cc, $asn) = $spec =~ /^([^=]+)=([A-Z]{2}):(\d+)$/ or die "bad spec $spec\n";
    $tree->insert_network($net, {
        country                        => { iso_code => $cc },
        autonomous_system_number       => $asn + 0,
        autonomous_system_organization => "AS$asn test network",
    });
}
open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh;
